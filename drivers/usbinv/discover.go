package usbinv

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/storewatch/storewatch/drivers/transport"
)

// Found is one device or port found by Discover.
type Found struct {
	// Device is set for a USB device.
	Device *Device
	// Port is the serial port, for USB serial devices and plain ports.
	Port string
	Recognition
}

// Report is what Discover found.
type Report struct {
	Found []Found
	// Problems are parts of the search that failed (listing serial ports,
	// listing USB devices); the rest of the report stands.
	Problems []string
}

// Discoverer finds devices. Its zero value is not useful; use Discover, or
// set both fields (tests give a fixture lister and a fixed port list).
type Discoverer struct {
	Lister      Lister
	SerialPorts func() ([]transport.SerialPort, error)
}

// Discover lists this machine's USB devices (from sysfs under root, "" for
// /sys, on Linux; from SetupAPI on Windows) and serial ports and says what
// each one probably is.
func Discover(ctx context.Context, root string) (Report, error) {
	l, err := NewLister("", root)
	if err != nil {
		return Report{}, err
	}
	return Discoverer{Lister: l, SerialPorts: transport.ListSerialPorts}.Discover(ctx)
}

// Discover runs the search.
func (d Discoverer) Discover(ctx context.Context) (Report, error) {
	var rep Report
	devs, err := d.Lister.List(ctx)
	if err != nil {
		rep.Problems = append(rep.Problems, "USB devices: "+err.Error())
	}
	var ports []transport.SerialPort
	if d.SerialPorts != nil {
		if ports, err = d.SerialPorts(); err != nil {
			rep.Problems = append(rep.Problems, "serial ports: "+err.Error())
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	claimed := map[string]bool{}
	for i := range devs {
		dev := &devs[i]
		if dev.Class == ClassHub || (dev.VID == 0x1d6b) { // hubs and Linux root hubs
			continue
		}
		f := Found{Device: dev, Recognition: Recognise(*dev)}
		if ttys := dev.TTYs(); len(ttys) > 0 {
			f.Port = ttys[0]
		} else if p, ok := portOf(*dev, ports); ok {
			// Windows: the port comes from the serial enumerator.
			f.Port = p
			if f.Mode == ModeUnknown {
				f.Mode = ModeSerial
			}
			if v := vendors[dev.VID]; v.SerialDriver != "" {
				f.Driver = v.SerialDriver
			}
		}
		if nodes := dev.PrinterNodes(); len(nodes) > 0 && f.Port == "" {
			// The printer-class node is what drivers can open without
			// libusb; its number may change after a replug.
			f.Port, f.Address = nodes[0], "usb://"+nodes[0]
			f.Note = strings.TrimPrefix(f.Note+"; ", "; ") + "opened through the kernel's printer driver; the lp number may change after a replug"
		}
		for _, t := range dev.TTYs() {
			claimed[t] = true
		}
		if f.Port != "" {
			claimed[f.Port] = true
		}
		rep.Found = append(rep.Found, f)
	}
	for _, p := range ports {
		if claimed[p.Name] {
			continue
		}
		f := Found{Port: p.Name}
		if p.USB {
			dev := Device{VID: hexOr0(p.VID), PID: hexOr0(p.PID), Serial: p.Serial, Manufacturer: p.Manufacturer, Product: p.Product}
			f.Device = &dev
			f.Recognition = Recognise(dev)
			f.Mode = ModeSerial
			if v := vendors[dev.VID]; v.SerialDriver != "" {
				f.Driver = v.SerialDriver
			}
		} else {
			f.Recognition = Recognition{Kind: "serial_port", Address: "serial://" + p.Name,
				Note: "RS-232 port: probe with the driver of the device on it (escpos, sics, nci, toledo, zvt, ssi)"}
		}
		rep.Found = append(rep.Found, f)
	}
	sort.SliceStable(rep.Found, func(i, j int) bool { return rep.Found[i].Kind < rep.Found[j].Kind })
	return rep, nil
}

// portOf finds the serial port the enumerator reports for a USB device.
func portOf(d Device, ports []transport.SerialPort) (string, bool) {
	for _, p := range ports {
		if p.USB && hexOr0(p.VID) == d.VID && hexOr0(p.PID) == d.PID && (d.Serial == "" || strings.EqualFold(p.Serial, d.Serial)) {
			return p.Name, true
		}
	}
	return "", false
}

func hexOr0(s string) uint16 {
	v, err := parseHex16(s)
	if err != nil {
		return 0
	}
	return v
}

// WriteTable prints the report as an aligned table, one row a device.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tUSB ID\tSERIAL\tVENDOR / MODEL\tMODE\tPORT\tDRIVER\tADDRESS")
	for _, f := range r.Found {
		id, serial := "-", "-"
		if f.Device != nil {
			id = f.Device.ID()
			if f.Device.Serial != "" {
				serial = f.Device.Serial
			}
		}
		name := strings.TrimSpace(f.Vendor + " " + f.Model)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(f.Kind), id, serial, dash(name), dash(string(f.Mode)), dash(f.Port), dash(f.Driver), dash(f.Address))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Found {
		if f.Note != "" {
			what := f.Port
			if f.Device != nil {
				what = f.Device.ID()
			}
			if _, err := fmt.Fprintf(w, "note: %s: %s\n", what, f.Note); err != nil {
				return err
			}
		}
	}
	for _, p := range r.Problems {
		if _, err := fmt.Fprintf(w, "problem: %s\n", p); err != nil {
			return err
		}
	}
	if len(r.Found) == 0 {
		_, err := fmt.Fprintln(w, "no USB devices or serial ports found")
		return err
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
