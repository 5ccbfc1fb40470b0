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
