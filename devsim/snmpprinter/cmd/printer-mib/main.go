// Command printer-mib is the emulated printer's pass_persist helper for
// net-snmp's snmpd:
//
//	pass_persist -p 1 .1.3.6.1.2.1.25.3 /path/printer-mib -control /path/faults
//	pass_persist -p 1 .1.3.6.1.2.1.43   /path/printer-mib -control /path/faults
//
// It speaks on stdin/stdout and never writes to stderr, which snmpd joins
// to the answer pipe. Faults are read from the control file before every
// request (one name per line; "delay 2s" sets the slow delay).
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
