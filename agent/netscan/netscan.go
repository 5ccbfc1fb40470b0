package netscan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"

	// The drivers whose identity questions a scan asks.
	_ "github.com/storewatch/storewatch/drivers/escpos"
	_ "github.com/storewatch/storewatch/drivers/snmpprinter"
	_ "github.com/storewatch/storewatch/drivers/zpl"
	_ "github.com/storewatch/storewatch/drivers/zvt"
)

// Ports store devices listen on.
const (
	PortRaw  = 9100  // raw printing (ESC/POS, ZPL, office printers)
	PortZVT  = 20007 // ZVT payment terminals
	PortRDP  = 3389  // Remote Desktop: a Windows POS PC
	PortSSH  = 22    // SSH: a Linux POS PC (or anything else)
	portIPP  = 631
	portLPD  = 515
	maxHosts = 1 << (32 - config.MinScanPrefix)
)

// Options bound one scan.
type Options struct {
	Networks    []netip.Prefix
	Ports       []int
	Rate        int           // connection attempts per second
	Timeout     time.Duration // per connection attempt, and per question
	Concurrency int           // connection attempts at once
	// Skip names addresses not to touch: those of monitored devices.
	Skip func(netip.Addr) bool
	// SNMPPort is where printers are asked over SNMP (0: 161; tests).
	SNMPPort int
}

// FromConfig makes a scan's options from discovery: settings already
// checked by config.Load. ok is false when the configuration allows no
// scan (no networks).
func FromConfig(d config.Discovery) (o Options, ok bool, err error) {
	for _, n := range d.Networks {
		p, err := config.ParseScanNetwork(n)
		if err != nil {
			return o, false, err
		}
		o.Networks = append(o.Networks, p)
	}
	o.Ports, o.Rate, o.Timeout, o.Concurrency = d.Ports, d.Rate, d.Timeout, d.Concurrency
	if len(o.Networks) == 0 {
		return o, false, nil
	}
	return o, true, o.Check()
}

// Check holds a scan to the same bounds as the configuration, whoever
// built the options.
func (o *Options) Check() error {
	if len(o.Networks) == 0 {
		return errors.New("no network to scan")
	}
	if len(o.Networks) > config.MaxScanNetworks {
		return fmt.Errorf("%d networks, at most %d", len(o.Networks), config.MaxScanNetworks)
	}
	for _, n := range o.Networks {
		if _, err := config.ParseScanNetwork(n.String()); err != nil {
			return err
		}
	}
	if len(o.Ports) == 0 || len(o.Ports) > config.MaxScanPorts {
		return fmt.Errorf("%d ports: give 1 to %d", len(o.Ports), config.MaxScanPorts)
	}
	for _, p := range o.Ports {
		if p < 1 || p > 65535 {
			return fmt.Errorf("port %d: want 1 to 65535", p)
		}
	}
	if o.Rate < 1 || o.Rate > config.MaxScanRate {
		return fmt.Errorf("rate %d: want 1 to %d connection attempts per second", o.Rate, config.MaxScanRate)
	}
	if o.Timeout < 100*time.Millisecond || o.Timeout > 5*time.Second {
		return fmt.Errorf("timeout %v: want 100ms to 5s", o.Timeout)
	}
	if o.Concurrency < 1 || o.Concurrency > config.MaxScanParallel {
		return fmt.Errorf("concurrency %d: want 1 to %d", o.Concurrency, config.MaxScanParallel)
	}
	if o.SNMPPort < 0 || o.SNMPPort > 65535 {
		return fmt.Errorf("SNMP port %d: want 1 to 65535", o.SNMPPort)
	}
	return nil
}

// Found is a device that answered.
type Found struct {
	IP      netip.Addr
	Open    []int  // the TCP ports that accepted a connection
	Kind    string // a configuration's device kind: receipt_printer, ...
	Driver  string
	Address string // for the configuration: tcp://IP:PORT or snmp://IP
	Vendor  string
	Model   string
	Serial  string
	Note    string // what the guess rests on
}

// Report is what a scan found.
type Report struct {
	Found    []Found
	Scanned  int // addresses tried
	Skipped  int // addresses left alone (monitored)
	Attempts int // connection attempts
}

// Hosts lists the addresses of the networks, without the network and
// broadcast addresses of networks larger than a /31, each once.
func Hosts(networks []netip.Prefix) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, n := range networks {
		n = n.Masked()
		first, last := n.Addr(), lastAddr(n)
		if n.Bits() < 31 {
			first, last = first.Next(), last.Prev()
		}
		for a := first; a.IsValid() && a.Compare(last) <= 0 && len(out) < config.MaxScanNetworks*maxHosts; a = a.Next() {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func lastAddr(n netip.Prefix) netip.Addr {
	b := n.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= 1<<(32-n.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Scan connects to every port of every address (but those Skip names),
// at most opts.Rate attempts a second and opts.Concurrency at once, then
// asks what answered who it is. It stops when ctx ends, returning what it
// has and ctx's error.
func Scan(ctx context.Context, opts Options) (Report, error) {
	if err := opts.Check(); err != nil {
		return Report{}, fmt.Errorf("network scan: %w", err)
	}
	var rep Report
	var hosts []netip.Addr
	for _, a := range Hosts(opts.Networks) {
		if opts.Skip != nil && opts.Skip(a) {
			rep.Skipped++
			continue
		}
		hosts = append(hosts, a)
	}
	rep.Scanned = len(hosts)
	open := connectAll(ctx, opts, hosts, &rep.Attempts)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	for _, h := range hosts {
		ports := open[h]
		if len(ports) == 0 {
			continue
		}
		slices.Sort(ports)
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		f := identify(ctx, opts, h, ports)
		f.IP, f.Open = h, ports
		rep.Found = append(rep.Found, f)
	}
	return rep, ctx.Err()
}

type target struct {
	ip   netip.Addr
	port int
}

// connectAll tries every target with a small pool of workers, each
// attempt waiting for its turn from a shared ticker (the rate limit).
// All workers are gone when it returns.
func connectAll(ctx context.Context, opts Options, hosts []netip.Addr, attempts *int) map[netip.Addr][]int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan target)
	tick := time.NewTicker(time.Second / time.Duration(opts.Rate))
	defer tick.Stop()
	var mu sync.Mutex
	open := map[netip.Addr][]int{}
	var wg sync.WaitGroup
	d := net.Dialer{Timeout: opts.Timeout}
	for range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range jobs {
				select {
				case <-ctx.Done():
					continue // drain: the feeder stops too
				case <-tick.C:
				}
				c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(t.ip, uint16(t.port)).String())
				mu.Lock()
				*attempts++
				if err == nil {
					open[t.ip] = append(open[t.ip], t.port)
				}
				mu.Unlock()
				if err == nil {
					c.Close()
				}
			}
		}()
	}
feed:
	for _, h := range hosts {
		for _, p := range opts.Ports {
			select {
			case jobs <- target{h, p}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	return open
}

// identify guesses what answered on ports of ip, asking only read-only
// questions. A raw printer port is asked over SNMP first: an office or
// label printer with SNMP says who it is without a byte on its print
// port. Only then ESC/POS (GS I, which an ESC/POS printer answers and
// does not print) and ZPL (~HI, a host query).
func identify(ctx context.Context, opts Options, ip netip.Addr, ports []int) Found {
	timeout := opts.Timeout
	has := func(p int) bool { return slices.Contains(ports, p) }
	tcp := func(p int) string { return "tcp://" + netip.AddrPortFrom(ip, uint16(p)).String() }
	switch {
	case has(PortRaw):
		snmp := "snmp://" + ip.String()
		if opts.SNMPPort != 0 && opts.SNMPPort != 161 {
			snmp = "snmp://" + netip.AddrPortFrom(ip, uint16(opts.SNMPPort)).String()
		}
		if id, err := ask(ctx, "snmpprinter", "network_printer", snmp, timeout, map[string]string{"retries": "0"}); err == nil && id.Model != "" {
			return found("network_printer", "snmpprinter", snmp, id, "answers SNMP with a printer's hrDeviceDescr")
		}
		if id, err := ask(ctx, "escpos", "receipt_printer", tcp(PortRaw), timeout, nil); err == nil {
			return found("receipt_printer", "escpos", tcp(PortRaw), id, "answers ESC/POS GS I on 9100")
		}
		if id, err := ask(ctx, "zpl", "label_printer", tcp(PortRaw), timeout, nil); err == nil {
			return found("label_printer", "zpl", tcp(PortRaw), id, "answers ZPL ~HI on 9100")
		}
		return Found{Kind: "network_printer", Driver: "netprobe", Address: tcp(PortRaw), Note: "takes raw printing on 9100 but answers no status question (SNMP, ESC/POS, ZPL)"}
	case has(PortZVT):
		if id, err := ask(ctx, "zvt", "payment_terminal", tcp(PortZVT), timeout, nil); err == nil {
			return found("payment_terminal", "zvt", tcp(PortZVT), id, "answers a ZVT status enquiry on 20007")
		}
		return Found{Kind: "payment_terminal", Driver: "netprobe", Address: tcp(PortZVT), Note: "listens on 20007 (ZVT) but did not answer a status enquiry (busy, or a password is needed)"}
	case has(PortRDP):
		return Found{Kind: "pos_pc", Driver: "netprobe", Address: tcp(PortRDP), Note: "listens on 3389 (Remote Desktop): a Windows PC"}
	case has(PortSSH):
		return Found{Kind: "pos_pc", Driver: "netprobe", Address: tcp(PortSSH), Note: "listens on 22 (SSH): a Linux PC or a network device"}
	case has(portIPP) || has(portLPD):
		p := portIPP
		if !has(p) {
			p = portLPD
		}
		return Found{Kind: "network_printer", Driver: "netprobe", Address: tcp(p), Note: "listens on " + strconv.Itoa(p) + " (IPP or LPD printing)"}
	}
	return Found{Kind: "network_device", Driver: "netprobe", Address: tcp(ports[0]), Note: "listens on " + strconv.Itoa(ports[0])}
}

func found(kind, driver, addr string, id wire.Identity, note string) Found {
	return Found{Kind: kind, Driver: driver, Address: addr, Vendor: id.Vendor, Model: id.Model, Serial: id.Serial, Note: note}
}

// ask runs a driver's Identify on addr: the same read-only questions
// the agent asks of a configured device.
func ask(ctx context.Context, driver, kind, addr string, timeout time.Duration, opts map[string]string) (wire.Identity, error) {
	a, err := transport.Parse(addr)
	if err != nil {
		return wire.Identity{}, err
	}
	p, err := drivers.New(driver, drivers.Spec{ID: "discover", Kind: kind, Address: a, Timeout: timeout, Options: drivers.NewOptions(opts)})
	if err != nil {
		return wire.Identity{}, err
	}
	if c, ok := p.(drivers.Closer); ok {
		defer c.Close()
	}
	id, ok := p.(drivers.Identifier)
	if !ok {
		return wire.Identity{}, fmt.Errorf("driver %s cannot say who a device is", driver)
	}
	// The driver bounds each question by timeout; this bounds the whole
	// (ESC/POS asks up to eight).
	ctx, cancel := context.WithTimeout(ctx, 10*timeout)
	defer cancel()
	return id.Identify(ctx)
}
