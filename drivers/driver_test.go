package drivers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

func TestOptionsReportUnknownAndBadValues(t *testing.T) {
	o := NewOptions(map[string]string{"baud": "fast", "retries": "3", "tiemout": "1s"})
	o.Int("baud", 9600)
	if got := o.Int("retries", 1); got != 3 {
		t.Errorf("retries = %d", got)
	}
	o.Duration("timeout", time.Second)
	err := o.Err()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`option baud: "fast" is not a whole number`, "option tiemout: not known to this driver"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestFaultFor(t *testing.T) {
	cases := []struct {
		err  error
		want wire.FaultCode
	}{
		{fmt.Errorf("tcp x: %w: refused", transport.ErrUnreachable), wire.FaultUnreachable},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), wire.FaultNoResponse},
		{ProtocolError("status byte 0xff"), wire.FaultNoResponse},
		{io.ErrUnexpectedEOF, wire.FaultNoResponse},
	}
	for _, c := range cases {
		if got := FaultFor(c.err); got.Code != c.want || got.Detail == "" {
			t.Errorf("FaultFor(%v) = %+v, want %s", c.err, got, c.want)
		}
	}
}

func TestRegistry(t *testing.T) {
	Register(Info{Name: "test-echo", Schemes: []string{"tcp"}, New: func(s Spec) (Prober, error) {
		return ProberFunc(func(context.Context) (Reading, error) { return Reading{Detail: s.ID}, nil }), nil
	}})
	tcp, _ := transport.Parse("tcp://h:1")
	p, err := New("test-echo", Spec{ID: "d1", Address: tcp})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := p.Probe(context.Background()); r.Detail != "d1" {
		t.Errorf("reading = %+v", r)
	}
	serial, _ := transport.Parse("serial:///dev/ttyS0")
	if _, err := New("test-echo", Spec{Address: serial}); err == nil || !strings.Contains(err.Error(), "cannot use a serial:// address") {
		t.Errorf("wrong scheme: %v", err)
	}
	if _, err := New("nope", Spec{Address: tcp}); err == nil || !strings.Contains(err.Error(), `unknown driver "nope"`) {
		t.Errorf("unknown driver: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	Register(Info{Name: "test-echo", New: func(Spec) (Prober, error) { return nil, errors.New("x") }})
}

// costed is a driver that says what its probe costs.
type costed struct {
	ProberFunc
	cost Cost
}

func (c costed) ProbeCost() Cost { return c.cost }

// The timeout bounds each exchange: a whole probe may take the timeout
// once per exchange. A driver that does not say makes one exchange.
func TestProbeTimeout(t *testing.T) {
	plain := ProberFunc(func(context.Context) (Reading, error) { return Reading{}, nil })
	cases := []struct {
		name string
		p    Prober
		want time.Duration
	}{
		{"a driver that does not say", plain, 2 * time.Second},
		{"one exchange", costed{plain, Cost{Exchanges: 1}}, 2 * time.Second},
		{"six exchanges", costed{plain, Cost{Exchanges: 6, Bytes: 320}}, 12 * time.Second},
		{"no exchanges said counts as one", costed{plain, Cost{}}, 2 * time.Second},
	}
	for _, c := range cases {
		if got := ProbeTimeout(c.p, 2*time.Second); got != c.want {
			t.Errorf("%s: ProbeTimeout = %v, want %v", c.name, got, c.want)
		}
	}
}

// Ten bits a byte: 96 bytes take 100 ms at 9600 baud.
func TestLineTime(t *testing.T) {
	for _, c := range []struct {
		bytes, baud int
		want        time.Duration
	}{
		{96, 9600, 100 * time.Millisecond},
		{960, 9600, time.Second},
		{96, 19200, 50 * time.Millisecond},
		{96, 0, 0},
	} {
		if got := (Cost{Bytes: c.bytes}).LineTime(c.baud); got != c.want {
			t.Errorf("%d bytes at %d baud: %v, want %v", c.bytes, c.baud, got, c.want)
		}
	}
}
