package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/storewatch/storewatch/cmd/storewatch-demo/internal/demo"
	"github.com/storewatch/storewatch/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command: exit 0 when the day ran (or for -h), 1 when it could
// not.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := runDemo(ctx, args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "storewatch-demo:", err)
		return 1
	}
	return 0
}

// runDemo runs the hub, a real agent and a virtual store of emulated devices
// in this process, with a scripted store day.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("storewatch-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	speed := fs.Float64("speed", demo.DefaultSpeed, fmt.Sprintf("store seconds per real second (1 to %d); 60 runs a store hour per minute", demo.MaxSpeed))
	data := fs.String("data", "", "keep the hub's data, configurations and log in this directory (default: a temporary one, deleted at the end)")
	listen := fs.String("listen", "", "API address (default "+demo.DefaultListen+", or a free port if it is taken)")
	var once bool
	fs.BoolVar(&once, "once", false, "stop when the scripted day is over")
	fs.BoolVar(&once, "until-done", false, "the same as --once")
	verbose := fs.Bool("verbose", false, "write the hub's and the agent's logs to stderr (default: demo.log in the data directory)")
	stream := fs.Bool("stream", false, "print the day as a stream of lines even on a terminal (the default when the output is not one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	// A closed terminal stops the demo as Ctrl-C does, and a closed pipe
	// (storewatch-demo | head) does not kill it before it has cleaned up.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	o := demo.Options{Speed: *speed, DataDir: *data, Listen: *listen, Out: stdout, Version: version.String()}
	// On a terminal the day is one table redrawn in place; in a pipe or a
	// file, a stream of lines in time order.
	if f, ok := stdout.(*os.File); ok && !*stream && os.Getenv("TERM") != "dumb" {
		o.Width, o.Live = terminalWidth(f)
	}
	if *verbose {
		o.Log = stderr
	}
	return demo.Run(ctx, o, once)
}
