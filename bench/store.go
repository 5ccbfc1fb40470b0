package bench

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/storewatch/storewatch/devsim"
	_ "github.com/storewatch/storewatch/devsim/all" // every emulator, by name
)

// slot is one place in the store mix.
type slot struct {
	name, kind, driver string
	emulator           string // devsim name; "" for a POS PC (a TCP port that accepts)
	pty                bool   // the agent reaches it on a PTY (serial); else over TCP
}

// storeMix is a realistic store, ten devices at a time: receipt and label
// printers over TCP and on serial ports, scales and a scanner on serial
// ports, a payment terminal on the LAN, and POS PCs checked by a TCP probe.
// Bigger N repeat the cycle (as lanes do); the scales rotate through the
// three scale protocols.
var storeMix = []slot{
	{"receipt", "receipt_printer", "escpos", "escpos", false},
	{"receipt", "receipt_printer", "escpos", "escpos", true},
	{"label", "label_printer", "zpl", "zpl", false},
	{"label", "label_printer", "zpl", "zpl", true},
	{"scale", "scale", "sics", "sics", true},
	{"scale", "scale", "nci", "nci", true},
	{"scanner", "scanner", "ssi", "ssi", true},
	{"pinpad", "payment_terminal", "zvt", "zvt", false},
	{"pos", "pos_pc", "netprobe", "", false},
	{"pos", "pos_pc", "netprobe", "", false},
}

var scaleRotation = []string{"sics", "nci", "toledo"}

// SimDevice is one emulated device of a SimStore.
type SimDevice struct {
	ID, Kind, Driver string
	// Address is where storeagent reaches it (serial:// on a PTY, or tcp://).
	Address string
	// TCP is a TCP endpoint of the same device for TCP-only checkers
	// (zabbix_agent2's net.tcp.service): the same emulator (or open port)
	// served on a port of its own, so that with both agents running at once
	// each one's connections are counted apart.
	TCP string
	// Accepted counts TCP connections served on TCP.
	Accepted func() int
	// AgentAccepted counts TCP connections served on Address (0 for a
	// serial device, probed over its PTY).
	AgentAccepted func() int
}

// SimStore is a store's devices, emulated in this process.
type SimStore struct {
	Devices []SimDevice
	closers []func()
}

// ServeStore starts n emulated devices following storeMix.
func ServeStore(ctx context.Context, n int) (*SimStore, error) {
	s := &SimStore{}
	scales := 0
	for i := range n {
		sl := storeMix[i%len(storeMix)]
		d := SimDevice{ID: fmt.Sprintf("%s-%03d", sl.name, i+1), Kind: sl.kind, Driver: sl.driver}
		if sl.emulator == "" {
			for _, side := range []*func() int{&d.AgentAccepted, &d.Accepted} {
				a, accepted, stop, err := servePort(ctx)
				if err != nil {
					s.Close()
					return nil, err
				}
				s.closers = append(s.closers, stop)
				if side == &d.Accepted {
					d.TCP = a
				} else {
					d.Address = "tcp://" + a
				}
				*side = accepted
			}
			s.Devices = append(s.Devices, d)
			continue
		}
		emu := sl.emulator
		if sl.kind == "scale" {
			emu = scaleRotation[scales%len(scaleRotation)]
			d.Driver = emu
			scales++
		}
		factory, ok := devsim.Lookup(emu)
		if !ok {
			s.Close()
			return nil, fmt.Errorf("bench: no emulator %q (known: %s)", emu, strings.Join(devsim.Names(), ", "))
		}
		dev := factory()
		srv, err := devsim.ServeTCP(ctx, dev, "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, err
		}
		s.closers = append(s.closers, func() { srv.Close() })
		d.TCP, d.Accepted = srv.Addr, srv.Accepted
		if !sl.pty {
			own, err := devsim.ServeTCP(ctx, dev, "127.0.0.1:0")
			if err != nil {
				s.Close()
				return nil, err
			}
			s.closers = append(s.closers, func() { own.Close() })
			d.Address, d.AgentAccepted = "tcp://"+own.Addr, own.Accepted
		} else {
			d.AgentAccepted = func() int { return 0 }
		}
		if sl.pty {
			p, err := devsim.ServeLonePTY(ctx, dev)
			if err != nil {
				s.Close()
				return nil, err
			}
			s.closers = append(s.closers, func() { p.Close() })
			d.Address = "serial://" + p.Path
		}
		s.Devices = append(s.Devices, d)
	}
	return s, nil
}

// servePort accepts TCP connections and closes them, as a POS PC's open
// port looks to a TCP probe.
func servePort(ctx context.Context) (addr string, accepted func() int, stop func(), err error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	})
	return ln.Addr().String(), func() int { return int(n.Load()) }, func() { ln.Close(); wg.Wait() }, nil
}

// Accepted sums the TCP connections every device has served to TCP-only
// checkers (on SimDevice.TCP).
func (s *SimStore) Accepted() int {
	n := 0
	for _, d := range s.Devices {
		n += d.Accepted()
	}
	return n
}

// AgentAccepted sums the TCP connections storeagent's TCP devices have
// served (on SimDevice.Address).
func (s *SimStore) AgentAccepted() int {
	n := 0
	for _, d := range s.Devices {
		n += d.AgentAccepted()
	}
	return n
}

// Close stops every emulator.
func (s *SimStore) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// AgentConfig is storeagent's configuration for the store: every device
// polled every interval, publishing to broker, outbox at outbox.
func (s *SimStore) AgentConfig(broker, outbox string, interval string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tenant: bench\nstore: s0001\nagent: pos-1\nsite:\n  name: Benchmark store\n  timezone: UTC\n")
	fmt.Fprintf(&b, "broker:\n  urls: [%q]\noutbox:\n  path: %q\n", broker, outbox)
	fmt.Fprintf(&b, "polling:\n  interval: %s\n  timeout: 2s\n  debounce: 2\n  grace: 1s\nlog:\n  level: warn\ndevices:\n", interval)
	for _, d := range s.Devices {
		fmt.Fprintf(&b, "  - {id: %s, kind: %s, driver: %s, address: %q}\n", d.ID, d.Kind, d.Driver, d.Address)
	}
	return b.String()
}

// ZabbixKeys are the comparable zabbix_agent2 items: one net.tcp.service
// check per device, against the device's TCP endpoint.
func (s *SimStore) ZabbixKeys() []string {
	var keys []string
	for _, d := range s.Devices {
		host, port, _ := net.SplitHostPort(d.TCP)
		keys = append(keys, fmt.Sprintf("net.tcp.service[tcp,%s,%s]", host, port))
	}
	return keys
}
