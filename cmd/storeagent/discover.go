package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/storewatch/storewatch/drivers/usbinv"
)

func init() {
	commands["discover"] = command{"list serial ports and USB devices, with what they look like and an address to configure", discoverCmd}
}

func discoverCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("discover", stderr)
	root := fs.String("sysfs", "", "sysfs root to read instead of /sys (Linux; for support cases)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := usbinv.Discover(ctx, *root)
	if err != nil {
		fmt.Fprintf(stderr, "storeagent discover: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exitFailed
		}
		return exitOK
	}
	if err := rep.WriteTable(stdout); err != nil {
		return exitFailed
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stderr, "note: %s\n", p)
	}
	return exitOK
}
