package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/storewatch/storewatch/devsim"
	_ "github.com/storewatch/storewatch/devsim/all"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tcp := fs.String("tcp", "", "serve on this TCP address (e.g. 127.0.0.1:9100, or 127.0.0.1:0 for a free port)")
	usePTY := fs.Bool("pty", false, "serve on a new pseudo-terminal")
	lone := fs.Bool("lone", false, "with --pty: do not keep the terminal's slave side open, so a program that checks who else has the port (storeagent) finds nobody")
	faults := fs.String("fault", "", "comma-separated faults to switch on at start")
	slow := fs.Duration("slow", 2*time.Second, "delay of the \"slow\" fault")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: devsim DEVICE [--tcp ADDR] [--pty [--lone]] [--fault f1,f2]\ndevices: %s\n", strings.Join(devsim.Names(), ", "))
		fs.PrintDefaults()
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		return 2
	}
	name := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	factory, ok := devsim.Lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "devsim: unknown device %q (known: %s)\n", name, strings.Join(devsim.Names(), ", "))
		return 2
	}
	if *tcp == "" && !*usePTY {
		fmt.Fprintln(stderr, "devsim: say where to serve: --tcp ADDR and/or --pty")
		return 2
	}
	dev := factory()
	sb := dev.Switchboard()
	sb.SetDelay(*slow)
	for _, f := range strings.Split(*faults, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if err := sb.Set(f, true); err != nil {
			fmt.Fprintf(stderr, "devsim: %v\n", err)
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *tcp != "" {
		srv, err := devsim.ServeTCP(ctx, dev, *tcp)
		if err != nil {
			fmt.Fprintf(stderr, "devsim: %v\n", err)
			return 1
		}
		defer srv.Close()
		fmt.Fprintf(stdout, "%s listening on tcp://%s\n", name, srv.Addr)
	}
	if *usePTY {
		serve := devsim.ServePTY
		if *lone {
			serve = devsim.ServeLonePTY
		}
		p, err := serve(ctx, dev)
		if err != nil {
			fmt.Fprintf(stderr, "devsim: %v\n", err)
			return 1
		}
		defer p.Close()
		fmt.Fprintf(stdout, "%s on serial://%s\n", name, p.Path)
	}
	fmt.Fprintf(stdout, "faults: %s\ncommands: on FAULT | off FAULT | clear | list | quit\n", strings.Join(sb.Known(), ", "))

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return 0
		case line, ok := <-lines:
			if !ok {
				<-ctx.Done() // stdin closed: keep serving until a signal
				return 0
			}
			if quit := command(sb, line, stdout); quit {
				return 0
			}
		}
	}
}

func command(sb *devsim.Faults, line string, out io.Writer) (quit bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	switch {
	case f[0] == "quit" || f[0] == "exit":
		return true
	case f[0] == "list":
		fmt.Fprintf(out, "active: %s\n", strings.Join(sb.Active(), ", "))
	case f[0] == "clear":
		sb.Clear()
		fmt.Fprintln(out, "all faults off")
	case (f[0] == "on" || f[0] == "off") && len(f) == 2:
		if err := sb.Set(f[1], f[0] == "on"); err != nil {
			fmt.Fprintln(out, err)
		} else {
			fmt.Fprintf(out, "%s %s\n", f[1], f[0])
		}
	default:
		fmt.Fprintln(out, "commands: on FAULT | off FAULT | clear | list | quit")
	}
	return false
}
