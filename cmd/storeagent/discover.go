package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/internal/cli"
)

func init() {
	program.Add(cli.Command{Name: "discover", Summary: "list serial ports and USB devices, with what they look like and an address to configure", Run: discoverCmd})
}

func discoverCmd(_ context.Context, args []string, std cli.Stdio) int {
	stdout, stderr := std.Out, std.Err
	fs := program.Flags("discover", stderr)
	root := fs.String("sysfs", "", "sysfs root to read instead of /sys (Linux; for support cases)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := usbinv.Discover(ctx, *root)
	if err != nil {
		fmt.Fprintf(stderr, "storeagent discover: %v\n", err)
		return cli.ExitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return cli.ExitFailed
		}
		return cli.ExitOK
	}
	if err := rep.WriteTable(stdout); err != nil {
		return cli.ExitFailed
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stderr, "note: %s\n", p)
	}
	return cli.ExitOK
}
