package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// The command line's own words, byte for byte: the usage, unknown commands
// and each command's flags. testdata/cli.golden is the record; go test
// -update rewrites it.
func TestCommandLineGolden(t *testing.T) {
	var b strings.Builder
	for _, args := range [][]string{
		{}, {"help"}, {"-h"}, {"--help"}, {"frobnicate"},
		{"run", "-h"}, {"config"}, {"config", "check", "-h"}, {"devices", "-h"}, {"outbox", "-h"},
		{"discover", "-h"}, {"install", "-h"}, {"status", "--frob"},
	} {
		stdout, stderr, code := run(args...)
		fmt.Fprintf(&b, "$ storeagent %s\nexit %d\n--- stdout\n%s--- stderr\n%s\n", strings.Join(args, " "), code, stdout, stderr)
	}
	testenv.Golden(t, "testdata/cli.golden", []byte(b.String()), *updateGolden)
}
