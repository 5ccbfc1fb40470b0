package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/devsim/sics"
	"github.com/storewatch/storewatch/devsim/ssi"
	"github.com/storewatch/storewatch/devsim/zpl"
	"github.com/storewatch/storewatch/devsim/zvt"
)

// deviceSpec is one device of the virtual store, as its agent configuration
// will name it, with the emulator that plays it.
type deviceSpec struct {
	ID, Kind, Driver, Location, Criticality string
	// Port is the device's TCP port; 0 puts it on a serial line (a PTY).
	Port int
	// Options are driver options; durations among them are store time.
	Options map[string]string
	// New builds the emulator.
	New func() devsim.Device
	// PowerOn is when, after the store opens, the device is switched on.
	PowerOn time.Duration
}

// Ports the devices listen on, as on a store LAN.
const (
	portRaw9100 = 9100  // receipt and label printers (raw TCP printing)
	portZVT     = 20007 // ZVT over TCP
	portRDP     = 3389  // what a POS PC answers on (the helpdesk's remote desktop)
)

func epson(model string, serial string) func() devsim.Device {
	return func() devsim.Device {
		id := escpos.DefaultIdentity
		if model != id.Model {
			id = escpos.OtherIdentity
		}
		id.Serial = serial
		return escpos.NewWith(id)
	}
}

// storeDevices is the virtual store: three lanes with a POS PC, a receipt
// printer on the network, lane 1 with the payment terminal and a serial
// scanner, a service desk printer on a serial line, and a deli counter with
// a label printer and a scale. The store PC's own checks (host) come from
// the agent configuration.
func storeDevices() []deviceSpec {
	m := time.Minute
	return []deviceSpec{
		{ID: "pos-lane1", Kind: "pos_pc", Driver: "netprobe", Location: "lane 1", Criticality: "high", Port: portRDP, New: newPC, PowerOn: 0},
		{ID: "receipt-lane1", Kind: "receipt_printer", Driver: "escpos", Location: "lane 1", Criticality: "high", Port: portRaw9100,
			New: epson("TM-T88V", "X5E1000101"), PowerOn: 0},
		{ID: "pos-lane2", Kind: "pos_pc", Driver: "netprobe", Location: "lane 2", Criticality: "high", Port: portRDP, New: newPC, PowerOn: 1 * m},
		{ID: "scanner-lane1", Kind: "scanner", Driver: "ssi", Location: "lane 1", Criticality: "high",
			New: func() devsim.Device { return ssi.New() }, PowerOn: 1 * m},
		{ID: "receipt-lane2", Kind: "receipt_printer", Driver: "escpos", Location: "lane 2", Criticality: "high", Port: portRaw9100,
			New: epson("TM-T88V", "X5E1000102"), PowerOn: 2 * m},
		{ID: "receipt-lane3", Kind: "receipt_printer", Driver: "escpos", Location: "lane 3", Criticality: "high", Port: portRaw9100,
			New: epson("TM-T88V", "X5E1000103"), PowerOn: 2 * m},
		{ID: "receipt-service", Kind: "receipt_printer", Driver: "escpos", Location: "service desk", Criticality: "normal",
			New: epson("TM-T20III", "Y7K2000201"), PowerOn: 3 * m},
		{ID: "label-deli", Kind: "label_printer", Driver: "zpl", Location: "deli counter", Criticality: "normal", Port: portRaw9100,
			New: func() devsim.Device { return zpl.New() }, PowerOn: 3 * m},
		{ID: "scale-deli", Kind: "scale", Driver: "sics", Location: "deli counter", Criticality: "high",
			Options: map[string]string{"unstable_probes": "3", "unstable_after": "1m"},
			New:     func() devsim.Device { return sics.New(sics.Config{Serial: "B525073136"}) }, PowerOn: 4 * m},
		{ID: "pt-lane1", Kind: "payment_terminal", Driver: "zvt", Location: "lane 1", Criticality: "critical", Port: portZVT,
			New: func() devsim.Device { return zvt.New() }, PowerOn: 4 * m},
		// Lane 3's PC installs updates: down for 7 minutes, longer than the
		// agent's 2-minute start-up grace plus the 3-minute
		// hold-down of unreachable, but within the hub's 10-minute power-on grace.
		{ID: "pos-lane3", Kind: "pos_pc", Driver: "netprobe", Location: "lane 3", Criticality: "high", Port: portRDP, New: newPC, PowerOn: 7 * m},
	}
}

// pcPort is a POS PC as a TCP probe sees it: a port that accepts.
type pcPort struct{}

func newPC() devsim.Device { return pcPort{} }

func (pcPort) Serve(context.Context, io.ReadWriter) error { return nil }

// device is a running emulator. TCP devices listen only while switched on
// (a switched-off device refuses connections); serial devices sit on their
// PTY from the start and stay silent until switched on.
type device struct {
	spec   deviceSpec
	emu    devsim.Device
	faults *devsim.Faults // nil for the POS PCs
	addr   string         // host:port, or the PTY's path

	mu  sync.Mutex
	tcp *devsim.TCP
	pty *devsim.PTY
}

// address is the device's address in the agent configuration.
func (d *device) address() string {
	if d.spec.Port == 0 {
		return "serial://" + d.addr
	}
	return "tcp://" + d.addr
}

// set switches one of the emulator's faults.
func (d *device) set(fault string, on bool) error {
	if d.faults == nil {
		return fmt.Errorf("%s has no fault switches", d.spec.ID)
	}
	if err := d.faults.Set(fault, on); err != nil {
		return fmt.Errorf("%s: %w", d.spec.ID, err)
	}
	return nil
}

// powerOn switches the device on: a TCP device starts listening, a serial one
// starts answering.
func (d *device) powerOn(ctx context.Context) error {
	if d.spec.Port == 0 {
		return d.set(devsim.FaultSilent, false)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tcp != nil {
		return nil
	}
	srv, err := devsim.ServeTCP(ctx, d.emu, d.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", d.spec.ID, err)
	}
	d.tcp = srv
	return nil
}

// close stops the emulator and releases its listener or PTY.
func (d *device) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	if d.tcp != nil {
		err = d.tcp.Close()
		d.tcp = nil
	}
	if d.pty != nil {
		if e := d.pty.Close(); e != nil && !devsim.IsClosed(e) {
			err = errors.Join(err, e)
		}
		d.pty = nil
	}
	return err
}

// startDevices builds the emulators, opens the PTYs of the serial devices
// (silent: not switched on yet) and gives every network device an address.
func startDevices(ctx context.Context, specs []deviceSpec) ([]*device, error) {
	lan, err := newLAN(len(specs))
	if err != nil {
		return nil, err
	}
	var out []*device
	fail := func(err error) ([]*device, error) {
		for _, d := range out {
			d.close()
		}
		return nil, err
	}
	for i, s := range specs {
		d := &device{spec: s, emu: s.New()}
		if sw, ok := d.emu.(devsim.Switchable); ok {
			d.faults = sw.Switchboard()
		}
		out = append(out, d)
		if s.Port != 0 {
			if d.addr, err = lan.addr(i, s.Port); err != nil {
				return fail(err)
			}
			continue
		}
		if err := d.set(devsim.FaultSilent, true); err != nil {
			return fail(err)
		}
		if d.pty, err = devsim.ServePTY(ctx, d.emu); err != nil {
			return fail(fmt.Errorf("%s: %w (the demo needs pseudo-terminals: Linux, macOS or BSD)", s.ID, err))
		}
		d.addr = d.pty.Path
	}
	return out, nil
}

// lan hands out the store's network addresses. On Linux every device gets
// its own loopback address (127.x.y.z, all of 127/8 is local there) and the
// port a real device uses, 9100 for printers; elsewhere only 127.0.0.1
// exists, and devices get distinct free ports below the ephemeral range, so
// a port stays free while its device is switched off.
type lan struct {
	prefix string // "127.61.203." or "" for 127.0.0.1
	used   map[int]bool
}

func newLAN(n int) (*lan, error) {
	l := &lan{used: map[int]bool{}}
	if runtime.GOOS != "linux" {
		return l, nil
	}
	for range 5 {
		prefix := fmt.Sprintf("127.%d.%d.", 16+rand.IntN(200), 1+rand.IntN(250))
		if bindable(prefix+"10:0") && bindable(fmt.Sprintf("%s%d:0", prefix, 10+n)) {
			l.prefix = prefix
			return l, nil
		}
	}
	return l, nil // loopback aliases refused (a sandbox): share 127.0.0.1
}

func bindable(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// addr returns device i's host:port for a device that listens on port.
func (l *lan) addr(i, port int) (string, error) {
	if l.prefix != "" {
		a := fmt.Sprintf("%s%d:%d", l.prefix, 10+i, port)
		if bindable(a) {
			return a, nil
		}
	}
	// Below 32768: Linux hands out ephemeral ports from 32768, macOS and
	// Windows from 49152, so no outgoing connection takes the port while
	// the device is off.
	for range 200 {
		p := 20000 + rand.IntN(12000)
		a := fmt.Sprintf("127.0.0.1:%d", p)
		if !l.used[p] && bindable(a) {
			l.used[p] = true
			return a, nil
		}
	}
	return "", errors.New("no free loopback port for the virtual store's devices")
}
