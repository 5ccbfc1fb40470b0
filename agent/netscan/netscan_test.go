package netscan_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/agent/netscan"
	"github.com/storewatch/storewatch/config"
	devescpos "github.com/storewatch/storewatch/devsim/escpos"
	devzpl "github.com/storewatch/storewatch/devsim/zpl"
	devzvt "github.com/storewatch/storewatch/devsim/zvt"
	"github.com/storewatch/storewatch/internal/testkit/lantest"
	"github.com/storewatch/storewatch/internal/testkit/snmptest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

func options(nets ...netip.Prefix) netscan.Options {
	return netscan.Options{Networks: nets, Ports: config.DefaultScanPorts, Rate: config.MaxScanRate,
		Timeout: 500 * time.Millisecond, Concurrency: 4}
}

func TestScanFindsStoreDevices(t *testing.T) {
	s := lantest.New(t)
	o := options(s.Net)
	o.Skip = func(a netip.Addr) bool { return a == s.Kept }
	rep, err := netscan.Scan(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scanned != 5 || rep.Skipped != 1 || rep.Attempts != 5*len(config.DefaultScanPorts) {
		t.Errorf("scanned %d, skipped %d, %d attempts; want 5, 1, %d", rep.Scanned, rep.Skipped, rep.Attempts, 5*len(config.DefaultScanPorts))
	}
	got := map[netip.Addr]netscan.Found{}
	for _, f := range rep.Found {
		got[f.IP] = f
	}
	want := []struct {
		ip                    netip.Addr
		kind, driver, address string
		vendor, model, serial string
	}{
		{s.Receipt, "receipt_printer", "escpos", fmt.Sprintf("tcp://%s:9100", s.Receipt), "EPSON", devescpos.DefaultIdentity.Model, devescpos.DefaultIdentity.Serial},
		{s.Label, "label_printer", "zpl", fmt.Sprintf("tcp://%s:9100", s.Label), "Zebra", devzpl.DefaultIdentity.Model, devzpl.DefaultIdentity.Serial},
		{s.Terminal, "payment_terminal", "zvt", fmt.Sprintf("tcp://%s:20007", s.Terminal), "", "", devzvt.New().TerminalID},
		{s.PC, "pos_pc", "netprobe", fmt.Sprintf("tcp://%s:3389", s.PC), "", "", ""},
	}
	for _, w := range want {
		f, ok := got[w.ip]
		if !ok {
			t.Errorf("%s (%s) not found; found %+v", w.ip, w.kind, rep.Found)
			continue
		}
		if f.Kind != w.kind || f.Driver != w.driver || f.Address != w.address {
			t.Errorf("%s: %s/%s at %s, want %s/%s at %s", w.ip, f.Kind, f.Driver, f.Address, w.kind, w.driver, w.address)
		}
		if (w.vendor != "" && !strings.EqualFold(f.Vendor, w.vendor)) || (w.model != "" && !strings.Contains(f.Model, w.model)) || f.Serial != w.serial {
			t.Errorf("%s: identity %q %q %q, want %q %q %q", w.ip, f.Vendor, f.Model, f.Serial, w.vendor, w.model, w.serial)
		}
		if f.Note == "" {
			t.Errorf("%s: no note saying what the guess rests on", w.ip)
		}
	}
	if _, ok := got[s.Kept]; ok {
		t.Errorf("the monitored printer %s was scanned", s.Kept)
	}
	if len(rep.Found) != len(want) {
		t.Errorf("found %d devices, want %d: %+v", len(rep.Found), len(want), rep.Found)
	}
}

func TestScanRefusesWhatIsNotAllowed(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    netscan.Options
		want string
	}{
		{"no network", options(), "no network"},
		{"larger than a /22", options(netip.MustParsePrefix("10.0.0.0/21")), "at most"},
		{"IPv6", options(netip.MustParsePrefix("fd00::/120")), "IPv4"},
		{"rate", func() netscan.Options { o := options(netip.MustParsePrefix("10.0.0.0/24")); o.Rate = 1000; return o }(), "rate"},
		{"no ports", func() netscan.Options { o := options(netip.MustParsePrefix("10.0.0.0/24")); o.Ports = nil; return o }(), "ports"},
		{"timeout", func() netscan.Options {
			o := options(netip.MustParsePrefix("10.0.0.0/24"))
			o.Timeout = time.Minute
			return o
		}(), "timeout"},
		{"concurrency", func() netscan.Options {
			o := options(netip.MustParsePrefix("10.0.0.0/24"))
			o.Concurrency = 100
			return o
		}(), "concurrency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := netscan.Scan(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) || rep.Attempts != 0 {
				t.Errorf("err %v after %d attempts; want an error about %q and no attempt", err, rep.Attempts, tc.want)
			}
		})
	}
}

// A scan is off unless the configuration gives networks.
func TestOffByDefault(t *testing.T) {
	cfg, _, err := config.Parse("agent.yaml", []byte("tenant: t\nstore: s\nagent: a\nsite: {timezone: UTC}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := netscan.FromConfig(cfg.Discovery); ok || err != nil {
		t.Errorf("a configuration without discovery.networks allows a scan (ok %v, err %v)", ok, err)
	}
	cfg, _, err = config.Parse("agent.yaml", []byte("tenant: t\nstore: s\nagent: a\nsite: {timezone: UTC}\ndiscovery: {networks: [192.168.10.0/24]}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	o, ok, err := netscan.FromConfig(cfg.Discovery)
	if !ok || err != nil || len(o.Networks) != 1 || len(o.Ports) != len(config.DefaultScanPorts) || o.Rate != config.DefaultScanRate {
		t.Errorf("discovery.networks given: ok %v, err %v, options %+v", ok, err, o)
	}
}

// A scan stops when its context ends, its workers with it.
func TestScanStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := options(netip.MustParsePrefix("127.250.0.0/22"))
	o.Rate = 1
	rep, err := netscan.Scan(ctx, o)
	if err == nil || rep.Attempts > o.Concurrency {
		t.Errorf("cancelled scan: err %v after %d attempts", err, rep.Attempts)
	}
}

func TestHosts(t *testing.T) {
	for _, tc := range []struct {
		nets        []string
		n           int
		first, last string
	}{
		{[]string{"192.168.10.0/24"}, 254, "192.168.10.1", "192.168.10.254"},
		{[]string{"10.0.0.0/22"}, 1022, "10.0.0.1", "10.0.3.254"},
		{[]string{"10.0.0.8/29", "10.0.0.8/30"}, 6, "10.0.0.9", "10.0.0.14"},
		{[]string{"10.0.0.4/31"}, 2, "10.0.0.4", "10.0.0.5"},
		{[]string{"10.0.0.4/32"}, 1, "10.0.0.4", "10.0.0.4"},
	} {
		var ps []netip.Prefix
		for _, n := range tc.nets {
			ps = append(ps, netip.MustParsePrefix(n))
		}
		h := netscan.Hosts(ps)
		if len(h) != tc.n || h[0].String() != tc.first || h[len(h)-1].String() != tc.last {
			t.Errorf("%v: %d hosts %v..%v, want %d %s..%s", tc.nets, len(h), h[0], h[len(h)-1], tc.n, tc.first, tc.last)
		}
	}
}

// An office printer on 9100 with SNMP (snmpd serving the emulated printer
// MIB) is identified over SNMP, without a byte on its print port.
func TestScanAsksPrintersOverSNMP(t *testing.T) {
	s := lantest.New(t)
	port := testenv.FreeUDPPort(t)
	snmptest.Start(t, s.Spare.String(), port, "")
	raw, err := net.Listen("tcp", netip.AddrPortFrom(s.Spare, netscan.PortRaw).String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	printed := make(chan int, 1)
	go func() { // what reaches the print port, over every connection, until it closes
		total := 0
		for {
			c, err := raw.Accept()
			if err != nil {
				printed <- total
				return
			}
			c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(make([]byte, 64))
			total += n
			c.Close()
		}
	}()
	o := options(netip.PrefixFrom(s.Spare, 32))
	o.SNMPPort = port
	rep, err := netscan.Scan(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Found) != 1 {
		t.Fatalf("found %+v, want the office printer", rep.Found)
	}
	f := rep.Found[0]
	if f.Kind != "network_printer" || f.Driver != "snmpprinter" || f.Address != fmt.Sprintf("snmp://%s:%d", s.Spare, port) ||
		f.Model != "HP LaserJet Pro M404dn" || f.Serial != "PHBQA12345" {
		t.Errorf("found %+v, want the HP printer over SNMP", f)
	}
	raw.Close()
	if n := <-printed; n != 0 {
		t.Errorf("%d bytes sent to the print port of a printer SNMP identified", n)
	}
}
