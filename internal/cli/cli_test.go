package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func program() *Program {
	p := &Program{Name: "tool"}
	p.Add(
		Command{Name: "zap", Summary: "zap things", Run: func(_ context.Context, args []string, std Stdio) int {
			fmt.Fprintln(std.Out, "zapped", strings.Join(args, " "))
			return ExitOK
		}},
		Command{Name: "fail", Summary: "fail, the error way", Run: p.Fallible(func(_ context.Context, args []string, std Stdio) error {
			fs := p.Flags("fail", std.Err)
			if err := fs.Parse(args); err != nil {
				return err
			}
			return errors.New("it broke")
		})},
	)
	return p
}

func TestDispatch(t *testing.T) {
	const usage = "usage: tool COMMAND [options]\n\ncommands:\n  fail       fail, the error way\n  zap        zap things\n\nRun tool COMMAND -h for a command's options.\n"
	for _, tc := range []struct {
		args          []string
		code          int
		stdout, errIs string
	}{
		{nil, ExitUsage, "", usage},
		{[]string{"help"}, ExitOK, usage, ""},
		{[]string{"--help"}, ExitOK, usage, ""},
		{[]string{"frob"}, ExitUsage, "", "tool: unknown command \"frob\"\n\n" + usage},
		{[]string{"zap", "a", "b"}, ExitOK, "zapped a b\n", ""},
		{[]string{"fail"}, ExitFailed, "", "tool: it broke\n"},
		{[]string{"fail", "-h"}, ExitOK, "", "Usage of tool fail:\n"},
		{[]string{"fail", "--x"}, ExitFailed, "", "flag provided but not defined: -x\nUsage of tool fail:\ntool: flag provided but not defined: -x\n"},
	} {
		var out, errb bytes.Buffer
		code := program().Run(context.Background(), tc.args, Stdio{Out: &out, Err: &errb})
		if code != tc.code || out.String() != tc.stdout || errb.String() != tc.errIs {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, out.String(), errb.String(), tc.code, tc.stdout, tc.errIs)
		}
	}
}

func TestCustomUsage(t *testing.T) {
	p := program()
	p.Usage = func(w io.Writer) { fmt.Fprint(w, "usage: tool zap\n") }
	var out bytes.Buffer
	if p.Run(context.Background(), []string{"-h"}, Stdio{Out: &out}) != ExitOK || out.String() != "usage: tool zap\n" {
		t.Errorf("custom usage: %q", out.String())
	}
}
