package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/storewatch/storewatch/internal/demo"
	"github.com/storewatch/storewatch/internal/version"
)

// demoCmd runs `storehub demo`: the hub, a real agent and a virtual store of
// emulated devices in this process, with a scripted store day.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("demo", stderr)
	speed := fs.Float64("speed", demo.DefaultSpeed, fmt.Sprintf("store seconds per real second (1 to %d); 60 runs a store hour per minute", demo.MaxSpeed))
	data := fs.String("data", "", "keep the hub's data, configurations and log in this directory (default: a temporary one, deleted at the end)")
	listen := fs.String("listen", "", "API address (default "+demo.DefaultListen+", or a free port if it is taken)")
	var once bool
	fs.BoolVar(&once, "once", false, "stop when the scripted day is over")
	fs.BoolVar(&once, "until-done", false, "the same as --once")
	verbose := fs.Bool("verbose", false, "write the hub's and the agent's logs to stderr (default: demo.log in the data directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	// A closed terminal stops the demo as Ctrl-C does, and a closed pipe
	// (storehub demo | head) does not kill it before it has cleaned up.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	o := demo.Options{Speed: *speed, DataDir: *data, Listen: *listen, Out: stdout, Version: version.String()}
	if *verbose {
		o.Log = stderr
	}
	return demo.Run(ctx, o, once)
}
