package drivers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// Reading is what one probe of a device found.
type Reading struct {
	// Faults active now. Empty means the device answered and is healthy.
	Faults []wire.Fault
	// Identity read from the device, if this probe read it.
	Identity *wire.Identity
	// Measurements are numbers worth keeping as samples (rtt_ms, labels
	// printed, disk_free_percent:/).
	Measurements map[string]float64
	// Detail says in a line what was read, for engineers and logs.
	Detail string
}

// Prober reads a device's current state. Probe is called by one goroutine at
// a time per device; the transport resource is locked for its duration.
//
// A probe that cannot get an answer returns an error instead of a Reading:
// errors matching transport.ErrUnreachable mean the device or its port is not
// there; ErrBusy means the device must not be disturbed now (a payment in
// progress) and the poll is skipped; anything else (a timeout, a reply that
// does not fit the protocol) means the device did not give a usable answer.
type Prober interface {
	Probe(ctx context.Context) (Reading, error)
}

// Cost is what one probe of a driver costs at most on the line: its
// request→answer exchanges and the bytes they move, both ways.
//
// A device's timeout bounds each exchange, not the whole probe: a device
// that answers every request in 500 ms is healthy under a 2 s timeout even
// when a probe asks it six things. So a whole probe may take up to
// Exchanges times the timeout (ProbeTimeout), while a device that does not
// answer at all is still found out after one timeout.
type Cost struct {
	Exchanges int // request→answer exchanges in the longest probe (identity read included)
	Bytes     int // bytes sent and received in that probe, for answers of typical length
}

// LineTime is how long Bytes take on a serial line at baud: ten bits a byte
// (start, seven or eight data bits with or without parity, stop).
func (c Cost) LineTime(baud int) time.Duration {
	if baud <= 0 {
		return 0
	}
	return time.Duration(c.Bytes) * 10 * time.Second / time.Duration(baud)
}

// Costed is implemented by drivers whose probe is a series of exchanges,
// each bounded by the device's timeout.
type Costed interface {
	ProbeCost() Cost
}

// ProbeTimeout returns how long a whole probe of p may take when each
// exchange may take exchange: Exchanges times exchange for a Costed driver,
// exchange alone for one that makes a single exchange (or does not say).
// The collector bounds a probe by it, and drivers bound their own probe
// with it, giving each exchange exchange of its own.
func ProbeTimeout(p Prober, exchange time.Duration) time.Duration {
	n := 1
	if c, ok := p.(Costed); ok {
		n = max(n, c.ProbeCost().Exchanges)
	}
	return time.Duration(n) * exchange
}

// Identifier is implemented by drivers that can read a device's identity on
// demand (model, serial number, firmware).
type Identifier interface {
	Identify(ctx context.Context) (wire.Identity, error)
}

// Closer is implemented by drivers that hold resources between probes.
type Closer interface {
	Close() error
}

// ProberFunc adapts a function to Prober, as http.HandlerFunc does.
type ProberFunc func(ctx context.Context) (Reading, error)

// Probe calls f.
func (f ProberFunc) Probe(ctx context.Context) (Reading, error) { return f(ctx) }

// ErrBusy says the device is in use by someone else or doing something that
// must not be interrupted (a payment in progress). It is transport.ErrBusy,
// so a port held by the POS application (transport.BusyError) matches it too.
var ErrBusy = transport.ErrBusy

// ErrProtocol says the device answered with bytes that do not fit its
// protocol. It is not a device fault: the reading is unusable.
var ErrProtocol = errors.New("protocol error")

// ProtocolError builds an error matching ErrProtocol.
func ProtocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// FaultFor turns a failed probe into the fault the collector records:
// unreachable when the transport could not be opened, no_response otherwise.
func FaultFor(err error) wire.Fault {
	if errors.Is(err, transport.ErrUnreachable) {
		return wire.NewFault(wire.FaultUnreachable, err.Error())
	}
	detail := err.Error()
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		detail = "no answer before the timeout: " + detail
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		detail = "connection closed: " + detail
	}
	return wire.NewFault(wire.FaultNoResponse, detail)
}

// Spec is what a driver factory gets: one configured device.
type Spec struct {
	ID      string
	Kind    string
	Address transport.Address
	// Timeout bounds each request→answer exchange with the device (see
	// Cost); zero means the driver's default.
	Timeout  time.Duration
	Options  Options
	Expected *wire.Identity
}

// Factory builds a driver for one device. It validates the device's options
// and address and returns errors a store technician can act on.
type Factory func(Spec) (Prober, error)

// Info describes a registered driver.
type Info struct {
	Name        string
	Description string
	Kinds       []string // device kinds it serves: receipt_printer, scale, ...
	Schemes     []string // address schemes it accepts: serial, tcp, ...
	Faults      []wire.FaultCode
	// Options are the device options (a device's options: map) the driver
	// takes: config check, the JSON Schema and the README's configuration
	// reference list them from here, and a driver that reads another is
	// told so by Options.Err.
	Options []Option
	New     Factory
}

// Option describes one driver option.
type Option struct {
	Name    string
	Type    OptionType
	Default string   // as written in the file; "" when there is none or it depends on the device
	Values  []string // the values it takes, when they are a fixed set
	Secret  bool     // a password or community: never logged
	Doc     string
}

// OptionType is what an option's value must look like.
type OptionType string

// Option types, as the getters of Options read them.
const (
	OptionString   OptionType = "string"
	OptionInt      OptionType = "integer"
	OptionNumber   OptionType = "number"
	OptionBool     OptionType = "boolean"
	OptionDuration OptionType = "duration"
)

// optionNames returns the names of the options, for messages.
func optionNames(opts []Option) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.Name
	}
	return out
}

var (
	regMu    sync.RWMutex
	registry = map[string]Info{}
)

// Register adds a driver. It panics on a duplicate name or a missing
// factory, which can only be a programming error.
func Register(info Info) {
	regMu.Lock()
	defer regMu.Unlock()
	if info.Name == "" || info.New == nil {
		panic("drivers: Register needs a name and a factory")
	}
	if _, dup := registry[info.Name]; dup {
		panic("drivers: driver " + info.Name + " registered twice")
	}
	for _, f := range info.Faults {
		if !f.Known() {
			panic("drivers: driver " + info.Name + " lists unknown fault " + string(f))
		}
	}
	seen := map[string]bool{}
	for _, o := range info.Options {
		if o.Name == "" || o.Type == "" || o.Doc == "" || seen[o.Name] {
			panic("drivers: driver " + info.Name + ": option " + o.Name + " needs a unique name, a type and a doc")
		}
		seen[o.Name] = true
	}
	registry[info.Name] = info
}

// Lookup returns a registered driver.
func Lookup(name string) (Info, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	i, ok := registry[name]
	return i, ok
}

// All returns every registered driver, sorted by name.
func All() []Info {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Info, 0, len(registry))
	for _, i := range registry {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// New builds the named driver for spec, checking that the driver exists and
// accepts the address's scheme before calling its factory.
func New(driver string, spec Spec) (Prober, error) {
	info, ok := Lookup(driver)
	if !ok {
		names := make([]string, 0)
		for _, i := range All() {
			names = append(names, i.Name)
		}
		return nil, fmt.Errorf("unknown driver %q (this build has: %s)", driver, strings.Join(names, ", "))
	}
	if len(info.Schemes) > 0 && !contains(info.Schemes, spec.Address.Scheme) {
		return nil, fmt.Errorf("driver %s cannot use a %s:// address (it takes %s)", driver, spec.Address.Scheme, strings.Join(info.Schemes, ", "))
	}
	spec.Options.declare(info.Options)
	p, err := info.New(spec)
	if err != nil {
		return nil, fmt.Errorf("driver %s: %w", driver, err)
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
