package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/storewatch/storewatch/devsim/snmpprinter"
)

func main() {
	fs := flag.NewFlagSet("printer-mib", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	control := fs.String("control", "", "file listing the active faults")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	p := snmpprinter.New()
	p.Control = *control
	rw := struct {
		io.Reader
		io.Writer
	}{os.Stdin, os.Stdout}
	if err := p.Serve(context.Background(), rw); err != nil && err != io.EOF {
		os.Exit(1)
	}
}
