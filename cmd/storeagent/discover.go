package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/storewatch/storewatch/agent/netscan"
	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/internal/cli"
)

func init() {
	program.Add(cli.Command{Name: "discover", Summary: "list serial ports and USB devices (and, with --network CIDR, devices that answer on the store network), with what they look like and an address to configure", Run: discoverCmd})
}

// discovered is `discover --json`: snake_case, no nulls (what is not known
// is left out; found is [] when nothing is), as every --json.
type discovered struct {
	Found    []foundJSON `json:"found"`
	Scan     *scanJSON   `json:"scan,omitempty"` // with --network
	Problems []string    `json:"problems,omitempty"`
}

// scanJSON sums up a network scan.
type scanJSON struct {
	Networks []string `json:"networks"`
	Ports    []int    `json:"ports"`
	Scanned  int      `json:"scanned"`  // addresses tried
	Skipped  int      `json:"skipped"`  // monitored addresses left alone
	Attempts int      `json:"attempts"` // connection attempts
}

// netJSON is where a device answered on the network.
type netJSON struct {
	IP        string `json:"ip"`
	OpenPorts []int  `json:"open_ports"`
}

type foundJSON struct {
	Kind    string   `json:"kind,omitempty"` // receipt_printer, barcode_scanner, ...
	Vendor  string   `json:"vendor,omitempty"`
	Model   string   `json:"model,omitempty"`
	Mode    string   `json:"mode,omitempty"` // a scanner's interface mode
	Driver  string   `json:"driver,omitempty"`
	Address string   `json:"address,omitempty"` // for the configuration
	Port    string   `json:"port,omitempty"`    // the serial port, if any
	Serial  string   `json:"serial,omitempty"`  // a network device's serial number
	USB     *usbJSON `json:"usb,omitempty"`
	Network *netJSON `json:"network,omitempty"`
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

// addScan adds a network scan's finds to out.
func (out *discovered) addScan(o netscan.Options, rep netscan.Report) {
	sj := &scanJSON{Networks: []string{}, Ports: o.Ports, Scanned: rep.Scanned, Skipped: rep.Skipped, Attempts: rep.Attempts}
	for _, n := range o.Networks {
		sj.Networks = append(sj.Networks, n.String())
	}
	out.Scan = sj
	for _, f := range rep.Found {
		out.Found = append(out.Found, foundJSON{Kind: f.Kind, Vendor: f.Vendor, Model: f.Model, Driver: f.Driver, Address: f.Address,
			Serial: f.Serial, Note: f.Note, Network: &netJSON{IP: f.IP.String(), OpenPorts: f.Open}})
	}
}

// networks is --network: CIDRs, repeated or comma-separated.
type networks []netip.Prefix

func (n *networks) String() string { return fmt.Sprint(*n) }

func (n *networks) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		p, err := config.ParseScanNetwork(f)
		if err != nil {
			return err
		}
		*n = append(*n, p)
	}
	return nil
}

// scanOptions makes the scan's options from the flags, leaving alone the
// devices of the configuration file when there is one.
func scanOptions(nets networks, ports string, rate int, timeout time.Duration, path string, stderr func(string)) (netscan.Options, error) {
	o := netscan.Options{Networks: nets, Rate: rate, Timeout: timeout, Concurrency: config.DefaultScanConcurrency}
	var err error
	if o.Ports, err = netscan.ParsePorts(ports); err != nil {
		return o, fmt.Errorf("--ports: %w", err)
	}
	if err := o.Check(); err != nil {
		return o, err
	}
	if path == "" {
		return o, nil
	}
	cfg, _, err := config.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		stderr(fmt.Sprintf("note: %s does not load, so monitored devices are scanned too: %v", path, err))
	default:
		o.Skip = netscan.Monitored(cfg.Devices)
	}
	return o, nil
}
func discoverCmd(_ context.Context, args []string, std cli.Stdio) int {
	stdout, stderr := std.Out, std.Err
	fs := program.Flags("discover", stderr)
	root := fs.String("sysfs", "", "sysfs root to read instead of /sys (Linux; for support cases)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	var nets networks
	fs.Var(&nets, "network", "also scan this store network (CIDR such as 192.168.10.0/24, a /22 at most; repeat or separate with commas)")
	ports := fs.String("ports", joinPorts(config.DefaultScanPorts), "TCP ports to try on each address, with --network")
	rate := fs.Int("rate", config.DefaultScanRate, "most connection attempts per second, with --network")
	timeout := fs.Duration("timeout", config.DefaultScanTimeout, "time allowed for each connection attempt and each question, with --network")
	path := fs.String("config", defaultConfig(), "configuration file whose devices a network scan leaves alone (if it exists)")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	var scan netscan.Options
	if len(nets) > 0 {
		var err error
		if scan, err = scanOptions(nets, *ports, *rate, *timeout, *path, func(s string) { fmt.Fprintln(stderr, s) }); err != nil {
			fmt.Fprintf(stderr, "storeagent discover: %v\n", err)
			return cli.ExitUsage
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := usbinv.Discover(ctx, *root)
	if err != nil {
		fmt.Fprintf(stderr, "storeagent discover: %v\n", err)
		return cli.ExitFailed
	}
	var netRep netscan.Report
	if len(nets) > 0 {
		if netRep, err = netscan.Scan(ctx, scan); err != nil {
			fmt.Fprintf(stderr, "storeagent discover: %v\n", err)
			return cli.ExitFailed
		}
	}
	if *asJSON {
		out := discoverJSON(rep)
		if len(nets) > 0 {
			out.addScan(scan, netRep)
		}
		if err := writeJSON(stdout, out); err != nil {
			return outputFailed(stderr, "discover", err)
		}
		return cli.ExitOK
	}
	if err := rep.WriteTable(stdout); err != nil {
		return outputFailed(stderr, "discover", err)
	}
	if len(nets) > 0 {
		fmt.Fprintln(stdout)
		if err := netRep.WriteTable(stdout); err != nil {
			return outputFailed(stderr, "discover", err)
		}
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stderr, "note: %s\n", p)
	}
	return cli.ExitOK
}

func joinPorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ",")
}
