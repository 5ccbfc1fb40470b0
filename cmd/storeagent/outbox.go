package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/storewatch/storewatch/uplink"
)

func init() {
	commands["outbox"] = command{"show what the outbox holds (depth, oldest, drops); --export writes it as JSON lines", outboxCmd}
}

func outboxCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("outbox", stderr)
	path := fs.String("config", defaultConfig(), "configuration file (for outbox.path)")
	file := fs.String("file", "", "outbox file to read instead of the configured one")
	export := fs.String("export", "", "write every unsent message as JSON lines to this file (- for standard output)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	wait := fs.Duration("timeout", 2*time.Second, "how long to wait for the file while the agent holds it")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	outbox := *file
	if outbox == "" {
		cfg, _, ok := load(*path, stderr)
		if !ok {
			return exitUsage
		}
		outbox = cfg.Outbox.Path
	}
	if *export != "" {
		w := stdout
		if *export != "-" {
			f, err := os.Create(*export)
			if err != nil {
				fmt.Fprintf(stderr, "storeagent outbox: %v\n", err)
				return exitFailed
			}
			defer f.Close()
			w = f
		}
		n, err := uplink.ExportOutbox(outbox, w, *wait)
		if err != nil {
			fmt.Fprintf(stderr, "storeagent outbox: %v\n", err)
			return exitFailed
		}
		if *export != "-" {
			fmt.Fprintf(stdout, "%d messages written to %s\n", n, *export)
		}
		return exitOK
	}
	rep, err := uplink.InspectOutbox(outbox, *wait)
	if err != nil {
		fmt.Fprintf(stderr, "storeagent outbox: %v\n", err)
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
	fmt.Fprintf(stdout, "outbox     %s (%d bytes on disk)\n", rep.Path, rep.FileBytes)
	fmt.Fprintf(stdout, "agent      %s\n", rep.Agent)
	fmt.Fprintf(stdout, "unsent     %d events, %d telemetry (%d bytes)\n", rep.Events, rep.Telemetry, rep.Bytes)
	if rep.Oldest.IsZero() {
		fmt.Fprintln(stdout, "oldest     -")
	} else {
		fmt.Fprintf(stdout, "oldest     seq %d from %s (%s ago)\n", rep.OldestSeq, rep.Oldest.UTC().Format(time.RFC3339), time.Since(rep.Oldest).Round(time.Second))
	}
	fmt.Fprintf(stdout, "last seq   %d\n", rep.LastSeq)
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
	return exitOK
}
