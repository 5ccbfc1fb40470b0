package main

import (
	"context"
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

// discovered is `discover --json`: snake_case, no nulls (what is not known
// is left out; found is [] when nothing is), as every --json.
type discovered struct {
	Found    []foundJSON `json:"found"`
	Problems []string    `json:"problems,omitempty"`
}

type foundJSON struct {
	Kind    string   `json:"kind,omitempty"` // receipt_printer, barcode_scanner, ...
	Vendor  string   `json:"vendor,omitempty"`
	Model   string   `json:"model,omitempty"`
	Mode    string   `json:"mode,omitempty"` // a scanner's interface mode
	Driver  string   `json:"driver,omitempty"`
	Address string   `json:"address,omitempty"` // for the configuration
	Port    string   `json:"port,omitempty"`    // the serial port, if any
	USB     *usbJSON `json:"usb,omitempty"`
	Note    string   `json:"note,omitempty"`
}

// usbJSON is a USB device's identity.
type usbJSON struct {
	ID           string `json:"id"` // VID:PID
	Serial       string `json:"serial,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
	Path         string `json:"path,omitempty"` // the sysfs name or Windows instance id
}

func discoverJSON(rep usbinv.Report) discovered {
	out := discovered{Found: []foundJSON{}, Problems: rep.Problems}
	for _, f := range rep.Found {
		j := foundJSON{Kind: f.Kind, Vendor: f.Vendor, Model: f.Model, Mode: string(f.Mode), Driver: f.Driver, Address: f.Address, Port: f.Port, Note: f.Note}
		if d := f.Device; d != nil {
			j.USB = &usbJSON{d.ID(), d.Serial, d.Manufacturer, d.Product, d.Path}
		}
		out.Found = append(out.Found, j)
	}
	return out
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
		if err := writeJSON(stdout, discoverJSON(rep)); err != nil {
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
