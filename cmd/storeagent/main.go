package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/svc"
)

// program is storeagent's table of commands; each file adds its own.
var program = &cli.Program{Name: "storeagent"}

func main() {
	os.Exit(program.Run(context.Background(), os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}

// defaultConfig is where the packages install the configuration.
func defaultConfig() string { return svc.ConfigFile("agent.yaml") }

// printConfigError prints a load error: each configuration mistake on its own
// line.
func printConfigError(w io.Writer, err error) {
	msg := err.Error()
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	fmt.Fprint(w, msg)
}
