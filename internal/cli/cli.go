package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1 // something went wrong while running
	ExitUsage  = 2 // the command line or the configuration is wrong
)

// Stdio is a command's standard streams.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string // one line for the usage
	// Run runs the command with the arguments after its name and returns
	// the exit code.
	Run func(ctx context.Context, args []string, std Stdio) int
}

// Program is a command made of subcommands.
type Program struct {
	Name     string
	Commands []Command
	// Usage writes the usage. Without it, the usage lists the commands one
	// per line, sorted by name.
	Usage func(w io.Writer)
}

// Add adds commands to the table (from a file's init, as drivers register).
func (p *Program) Add(cs ...Command) { p.Commands = append(p.Commands, cs...) }

// Run finds the command args[0] names and runs it.
func (p *Program) Run(ctx context.Context, args []string, std Stdio) int {
	if len(args) == 0 {
		p.usage(std.Err)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "--help":
		p.usage(std.Out)
		return ExitOK
	}
	i := slices.IndexFunc(p.Commands, func(c Command) bool { return c.Name == args[0] })
	if i < 0 {
		fmt.Fprintf(std.Err, "%s: unknown command %q\n\n", p.Name, args[0])
		p.usage(std.Err)
		return ExitUsage
	}
	return p.Commands[i].Run(ctx, args[1:], std)
}

func (p *Program) usage(w io.Writer) {
	if p.Usage != nil {
		p.Usage(w)
		return
	}
	fmt.Fprintf(w, "usage: %s COMMAND [options]\n\ncommands:\n", p.Name)
	cs := slices.SortedFunc(slices.Values(p.Commands), func(a, b Command) int { return strings.Compare(a.Name, b.Name) })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nRun %s COMMAND -h for a command's options.\n", p.Name)
}

// Flags returns the flag set of a command: errors and -h go to stderr, and
// parsing returns them instead of exiting.
func (p *Program) Flags(command string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(p.Name+" "+command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Fallible makes a command of a function that returns an error: -h exits
// 0, an error is printed as "program: error" on stderr and exits 1.
func (p *Program) Fallible(run func(ctx context.Context, args []string, std Stdio) error) func(context.Context, []string, Stdio) int {
	return func(ctx context.Context, args []string, std Stdio) int {
		err := run(ctx, args, std)
		switch {
		case errors.Is(err, flag.ErrHelp):
			return ExitOK
		case err != nil:
			fmt.Fprintf(std.Err, "%s: %v\n", p.Name, err)
			return ExitFailed
		}
		return ExitOK
	}
}
