package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/uplink"
)

func init() {
	program.Add(cli.Command{Name: "outbox", Summary: "show what the outbox holds (depth, oldest, drops); --export writes it as JSON lines", Run: outboxCmd})
}

func outboxCmd(_ context.Context, args []string, std cli.Stdio) int {
	stdout, stderr := std.Out, std.Err
	fs := program.Flags("outbox", stderr)
	path := fs.String("config", defaultConfig(), "configuration file (for outbox.path)")
	file := fs.String("file", "", "outbox file to read instead of the configured one")
	export := fs.String("export", "", "write every unsent message as JSON lines to this file (- for standard output)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	wait := fs.Duration("timeout", 2*time.Second, "how long to wait for the file while the agent holds it")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	outbox := *file
	if outbox == "" {
		cfg, _, ok := load(*path, stderr)
		if !ok {
			return cli.ExitUsage
		}
		outbox = cfg.Outbox.Path
	}
	if *export != "" {
		w := stdout
		if *export != "-" {
			f, err := os.Create(*export)
			if err != nil {
				fmt.Fprintf(stderr, "storeagent outbox: %v\n", err)
				return cli.ExitFailed
			}
			defer f.Close()
			w = f
		}
		n, err := uplink.ExportOutbox(outbox, w, *wait)
		if err != nil {
			fmt.Fprintf(stderr, "storeagent outbox: %v\n", err)
			return cli.ExitFailed
		}
		if *export != "-" {
			fmt.Fprintf(stdout, "%d messages written to %s\n", n, *export)
		}
		return cli.ExitOK
	}
	rep, err := uplink.InspectOutbox(outbox, *wait)
	if err != nil {
		fmt.Fprintf(stderr, "storeagent outbox: %v\n", err)
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
	fmt.Fprintf(stdout, "outbox     %s (%d bytes on disk)\n", rep.Path, rep.FileBytes)
	fmt.Fprintf(stdout, "agent      %s\n", rep.Agent)
	fmt.Fprintf(stdout, "unsent     %d events, %d telemetry (%d bytes)\n", rep.Events, rep.Telemetry, rep.Bytes)
	if rep.Oldest.IsZero() {
		fmt.Fprintln(stdout, "oldest     -")
	} else {
		fmt.Fprintf(stdout, "oldest     seq %d from %s (%s ago)\n", rep.OldestSeq, rep.Oldest.UTC().Format(time.RFC3339), time.Since(rep.Oldest).Round(time.Second))
	}
	fmt.Fprintf(stdout, "last seq   %d\n", rep.LastSeq)
	fmt.Fprintf(stdout, "kept       %d events sent, for the hub to ask for again\n", rep.Sent)
	classes := make([]string, 0, len(rep.Dropped))
	for c := range rep.Dropped {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		fmt.Fprintf(stdout, "dropped    %d %s\n", rep.Dropped[c], c)
	}
	for _, inc := range rep.Incidents {
		fmt.Fprintf(stdout, "incident   %s\n", inc)
	}
	return cli.ExitOK
}
