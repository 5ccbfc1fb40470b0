package snmpprinter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

func newFaked(t *testing.T, a *fakeAgent, expected string) *Driver {
	t.Helper()
	addr, _ := transport.Parse("snmp://printer.test?version=2c")
	spec := drivers.Spec{Address: addr, Options: drivers.NewOptions(nil)}
	if expected != "" {
		spec.Expected = transcript.Identity(expected)
	}
	d, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	d.dial = func(context.Context) (client, error) { return a, nil }
	return d
}

func TestAgents(t *testing.T) {
	for _, c := range loadAgents(t) {
		a := &fakeAgent{objects: c.objects}
		d := newFaked(t, a, c.expect["expected"])
		if _, reads := c.expect["identity"]; !reads {
			d.ident.Read(wire.Identity{})
		}
		if v, ok := c.expect["warming_for"]; ok {
			// "! warming_for 6m": a first probe, then the checked one that
			// much later, on the driver's own clock.
			for_, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("%s: warming_for %q: %v", c.name, v, err)
			}
			now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
			d.warm.now = func() time.Time { return now }
			if _, err := d.Probe(context.Background()); err != nil {
				t.Fatalf("%s: first probe: %v", c.name, err)
			}
			now = now.Add(for_)
		}
		r, err := d.Probe(context.Background())
		if c.expect["error"] == "protocol" {
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Errorf("%s: err = %v, want a protocol error", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		transcript.CheckFaults(t, c.name, c.expect["faults"], r.Faults)
		if want, ok := c.expect["detail"]; ok && !strings.Contains(r.Detail+" "+details(r.Faults), want) {
			t.Errorf("%s: detail %q and fault details %q lack %q", c.name, r.Detail, details(r.Faults), want)
		}
		if want, ok := c.expect["identity"]; ok {
			transcript.CheckIdentity(t, c.name, want, r.Identity)
		} else if r.Identity != nil {
			t.Errorf("%s: identity read again", c.name)
		}
	}
}

func details(fs []wire.Fault) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Detail)
	}
	return strings.Join(out, "; ")
}

// Warming up is no fault until warmup_limit; the since-when is kept across
// probes in the driver, ends when the printer is ready, and survives a
// probe that got no answer.
func TestWarmupAcrossProbes(t *testing.T) {
	warming := map[string]string{
		".1.3.6.1.2.1.25.3.2.1.5.1": "integer 5",
		".1.3.6.1.2.1.25.3.5.1.1.1": "integer 5",
		".1.3.6.1.2.1.25.3.5.1.2.1": "octet 02 00",
	}
	ready := map[string]string{
		".1.3.6.1.2.1.25.3.2.1.5.1": "integer 2",
		".1.3.6.1.2.1.25.3.5.1.1.1": "integer 3",
		".1.3.6.1.2.1.25.3.5.1.2.1": "octet 00 00",
	}
	base := loadAgents(t)[0].objects
	a := &fakeAgent{objects: map[string]gosnmp.SnmpPDU{}}
	set := func(objs map[string]string) {
		for k, v := range base {
			a.objects[k] = v
		}
		for oid, tv := range objs {
			p, err := parsePDU(oid + " " + tv)
			if err != nil {
				t.Fatal(err)
			}
			a.objects[p.Name] = p
		}
	}
	d := newFaked(t, a, "")
	d.ident.Read(wire.Identity{})
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	d.warm.now = func() time.Time { return now }
	steps := []struct {
		advance time.Duration
		state   map[string]string // nil: the probe gets no answer
		faults  string
	}{
		{0, warming, "none"},                   // warming up: normal
		{4 * time.Minute, warming, "none"},     // 4 minutes: still normal
		{30 * time.Second, nil, ""},            // no answer: the warm-up's start is kept
		{40 * time.Second, warming, "offline"}, // 5m10s: longer than 5m
		{time.Minute, ready, "none"},           // ready: the warm-up is over
		{time.Minute, warming, "none"},         // a new warm-up starts from scratch
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if s.state == nil {
			a.fail = errors.New("request timeout")
			if _, err := d.Probe(context.Background()); err == nil {
				t.Fatalf("step %d: probe without an answer succeeded", i)
			}
			a.fail = nil
			continue
		}
		set(s.state)
		r, err := d.Probe(context.Background())
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		transcript.CheckFaults(t, fmt.Sprintf("step %d", i), s.faults, r.Faults)
		if s.faults == "offline" && (!strings.Contains(r.Faults[0].Detail, "since 2025-03-01T09:00:00Z") || !strings.Contains(r.Faults[0].Detail, "warmup_limit 5m")) {
			t.Errorf("step %d: detail %q, want since when and the limit", i, r.Faults[0].Detail)
		}
	}
}

// Appendix B.4: bit k is the (k%8)th bit from the top of octet k/8.
func TestErrorStateBits(t *testing.T) {
	cases := []struct {
		octets []byte
		names  string
	}{
		{[]byte{0x40, 0x00}, "noPaper"},
		{[]byte{0x08, 0x00}, "doorOpen"},
		{[]byte{0x80, 0x00}, "lowPaper"},
		{[]byte{0x0A, 0x00}, "doorOpen offline"},
		{[]byte{0x04, 0x00}, "jammed"},
		{[]byte{0x42, 0x00}, "noPaper offline"},
		{[]byte{0x00, 0x80}, "inputTrayMissing"},
		{[]byte{0x00, 0x03}, "overduePreventMaint bit15"},
		{[]byte{0x01, 0x00, 0x80}, "serviceRequested bit16"},
		{nil, ""},
	}
	for _, c := range cases {
		if got := strings.Join(ErrorState(c.octets).Names(), " "); got != c.names {
			t.Errorf("% X: %q, want %q", c.octets, got, c.names)
		}
	}
}

func TestSupplyRemaining(t *testing.T) {
	cases := []struct {
		s   Supply
		pct float64
		ok  bool
	}{
		{Supply{Class: 3, Max: 10000, Level: 8000}, 80, true},
		{Supply{Class: 3, Max: 100, Level: 150}, 100, true}, // level above capacity
		{Supply{Class: 4, Max: 100, Level: 10}, 90, true},   // receptacle: room left
		{Supply{Class: 3, Max: 100, Level: -3}, 0, false},   // some remaining
		{Supply{Class: 3, Max: 100, Level: -2}, 0, false},   // unknown
		{Supply{Class: 3, Max: -1, Level: -1}, 0, false},    // no restriction
		{Supply{Class: 3, Max: -2, Level: 40}, 0, false},    // unknown capacity
		{Supply{Class: 3, Max: -2, Level: 0}, 0, true},      // but empty is empty
		{Supply{Class: 4, Max: 0, Level: 0}, 0, false},      // a receptacle at 0 is fine
	}
	for _, c := range cases {
		pct, ok := c.s.Remaining()
		if pct != c.pct || ok != c.ok {
			t.Errorf("%+v: %v %v, want %v %v", c.s, pct, ok, c.pct, c.ok)
		}
	}
}

func TestAddressAndOptions(t *testing.T) {
	good := []struct {
		addr string
		opts map[string]string
	}{
		{"snmp://10.0.0.7", nil},
		{"snmp://10.0.0.7:1161?version=1&community=private", nil},
		{"snmp://10.0.0.7?version=3&user=mon&auth=SHA256&auth_pass=authpass1&priv=AES&priv_pass=privpass1", nil},
		{"snmp://10.0.0.7?version=3&user=mon", map[string]string{"auth_pass": "authpass1", "priv_pass": "privpass1"}},
		{"snmp://10.0.0.7?version=3&user=mon&level=noAuthNoPriv", nil},
		{"snmp://10.0.0.7", map[string]string{"community": "s3cret", "device_index": "2", "low_percent": "10"}},
	}
	for _, g := range good {
		addr, err := transport.Parse(g.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(drivers.Spec{Address: addr, Options: drivers.NewOptions(g.opts)}); err != nil {
			t.Errorf("%s %v: %v", g.addr, g.opts, err)
		}
	}
	bad := []struct {
		addr string
		opts map[string]string
	}{
		{"snmp://10.0.0.7?version=4", nil},
		{"snmp://10.0.0.7?comunity=typo", nil},
		{"snmp://10.0.0.7?version=3", nil},                                       // no user
		{"snmp://10.0.0.7?version=3&user=mon&auth_pass=short", nil},              // passphrase too short
		{"snmp://10.0.0.7?version=3&user=mon&auth=CRC&auth_pass=authpass1", nil}, // no such protocol
		{"snmp://10.0.0.7?version=3&user=mon&level=authPriv&auth_pass=authpass1", nil},
		{"snmp://10.0.0.7", map[string]string{"low_percent": "120"}},
		{"snmp://10.0.0.7", map[string]string{"colour": "red"}},
		{"tcp://10.0.0.7:9100", nil},
	}
	for _, b := range bad {
		addr, err := transport.Parse(b.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(drivers.Spec{Address: addr, Options: drivers.NewOptions(b.opts)}); err == nil {
			t.Errorf("%s %v accepted", b.addr, b.opts)
		}
	}
}

// Secrets never show in errors or details: the address is printed redacted.
func TestSecretsStayOut(t *testing.T) {
	addr, _ := transport.Parse("snmp://127.0.0.1:1?community=s3cret")
	d, err := New(drivers.Spec{Address: addr, Options: drivers.NewOptions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	d.dial = func(context.Context) (client, error) { return nil, errors.New("boom") }
	_, err = d.Probe(context.Background())
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v", err)
	}
}

// The printer's index is looked up once, identity only when due.
func TestFewRequestsPerProbe(t *testing.T) {
	a := &fakeAgent{objects: loadAgents(t)[0].objects}
	d := newFaked(t, a, "")
	for i := 0; i < 3; i++ {
		if _, err := d.Probe(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// walks: hrDeviceType once, then cover + supplies per probe; gets: status
	// per probe plus identity once.
	if len(a.walks) != 1+2*3 || a.gets != 3+1 {
		t.Errorf("walks %v, gets %d", a.walks, a.gets)
	}
}
