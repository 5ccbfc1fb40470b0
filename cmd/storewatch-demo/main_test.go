//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// `storewatch-demo --once` as the README runs it (faster): the header with
// the API's address and token, the day, the day's tickets, exit 0, and its
// temporary directory gone. internal/demo's test checks the tickets
// themselves.
func TestDemoOnceRunsTheDayAndCleansUp(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--once", "--speed", "300", "--listen", "127.0.0.1:0"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{
		"API      http://127.0.0.1:", "Authorization: Bearer ", "go run ./cmd/storehub incidents --api http://127.0.0.1:",
		// The opening's store time is not checked: at 300x a busy machine
		// starts the day a few store minutes late.
		"  store   ", "opens: the store PC boots", "TICKET  INC-", "end of the scripted day", "The day's tickets:", "stopped: the agent, the hub and the emulators are down",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	m := regexp.MustCompile(`(?m)^  data     (\S+) `).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no data directory in the header:\n%s", out.String())
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the temporary data directory %s is still there (%v)", m[1], err)
	}
}

func TestDemoFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--speed", "1000"}, 1, "speed 1000: want 1 (real time) to 300"},
		{[]string{"--speed", "0.5"}, 1, "speed 0.5"},
		{[]string{"tomorrow"}, 1, `unexpected argument "tomorrow"`},
		{[]string{"-h"}, 0, "-until-done"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, errb.String())
		}
	}
}
