package tap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	devescpos "github.com/storewatch/storewatch/devsim/escpos"
	devnci "github.com/storewatch/storewatch/devsim/nci"
	"github.com/storewatch/storewatch/devsim/scalesim"
	devsics "github.com/storewatch/storewatch/devsim/sics"
	devtoledo "github.com/storewatch/storewatch/devsim/toledo"
	"github.com/storewatch/storewatch/drivers"
	_ "github.com/storewatch/storewatch/drivers/escpos"
	_ "github.com/storewatch/storewatch/drivers/nci"
	_ "github.com/storewatch/storewatch/drivers/sics"
	_ "github.com/storewatch/storewatch/drivers/toledo"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/drivers/transport/tap"
	"github.com/storewatch/storewatch/internal/testkit/taptest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// recording is a device that keeps every byte it was sent, in order.
type recording struct {
	dev devsim.Device
	mu  sync.Mutex
	got []byte
}

func (r *recording) Serve(ctx context.Context, rw io.ReadWriter) error {
	return r.dev.Serve(ctx, struct {
		io.Reader
		io.Writer
	}{io.TeeReader(rw, r), rw})
}

func (r *recording) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, p...)
	return len(p), nil
}

func (r *recording) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.got...)
}

// lane is a device on a PTY (the physical port), a tap on it, and the
// virtual port the POS application opens.
type lane struct {
	port    transport.Address
	virtual string
	tap     *tap.Tap
	l       *taptest.Lane
}

func startLane(t testing.TB, dev devsim.Device, query string) *lane {
	t.Helper()
	return startWatchedLane(t, dev, query, nil)
}

// startWatchedLane is startLane with a tap.Watcher.
func startWatchedLane(t testing.TB, dev devsim.Device, query string, w tap.Watcher) *lane {
	t.Helper()
	l := taptest.Start(t, dev, query, tap.Config{Watcher: w})
	return &lane{port: l.Port, virtual: l.Virtual, tap: l.Tap, l: l}
}

// pos opens the virtual port as the POS application does.
func (l *lane) pos(t *testing.T, query string) transport.Conn {
	return l.l.POS(t, query, transport.SerialMode{})
}

func (l *lane) driver(t *testing.T, name string, options map[string]string) drivers.Prober {
	t.Helper()
	d, err := drivers.New(name, drivers.Spec{ID: name, Address: l.port, Timeout: 2 * time.Second, Options: drivers.NewOptions(options)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// receipt is one receipt as a POS application prints it: initialise, text,
// feed and cut. It holds no DLE or GS I sequence, so the agent's questions
// can be found in what the printer received.
func receipt(i int) []byte {
	var b bytes.Buffer
	b.WriteString("\x1b@")
	for line := range 12 {
		fmt.Fprintf(&b, "lane 3 receipt %04d item %02d ............ %3d.%02d EUR\n", i, line, i%97, line)
	}
	b.WriteString("\x1bd\x05\x1dV\x00")
	return b.Bytes()
}

// The POS application prints receipts and asks its own status through the
// tap while the agent polls the same printer: the printer receives every
// byte of the POS application in order, the agent's questions only between
// the POS application's writes, each side gets its own answers, and the
// agent's reading is right.
func TestTapReceiptPrinterSharedWithThePOS(t *testing.T) {
	printer := devescpos.New()
	rec := &recording{dev: printer}
	l := startLane(t, rec, "")
	pos := l.pos(t, "")
	agent := l.driver(t, "escpos", map[string]string{"printer_info": "false", "identify_every": "0"})

	ctx, stop := context.WithCancel(context.Background())
	var readings []drivers.Reading
	var busy int
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		for ctx.Err() == nil {
			// Each probe runs to its end: one cancelled midway would leave
			// a broken-off question block behind the POS application's
			// bytes, which the check below cannot tell from a misplaced one.
			r, err := agent.Probe(context.Background())
			switch {
			case err == nil:
				readings = append(readings, r)
			case ctx.Err() != nil:
			case strings.Contains(err.Error(), "busy") || strings.Contains(err.Error(), "in use"):
				busy++
			default:
				t.Errorf("agent probe through the tap: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	var sent bytes.Buffer
	var boundaries []int // offsets in sent after each POS write
	const receipts = 40
	for i := range receipts {
		for _, w := range [][]byte{receipt(i), {0x10, 0x04, 0x02}} {
			if _, err := pos.Write(w); err != nil {
				t.Fatal(err)
			}
			sent.Write(w)
			boundaries = append(boundaries, sent.Len())
		}
		// The POS application reads its own status answer: DLE EOT 2 is
		// 0xx1xx10, never the agent's bytes.
		pos.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := transport.ReadFull(pos, 1)
		if err != nil {
			t.Fatalf("receipt %d: the POS application's status answer: %v (tap %+v)", i, err, l.tap.Stats())
		}
		if b[0]&0x93 != 0x12 {
			t.Fatalf("receipt %d: the POS application got %#02x, not an answer to its DLE EOT 2", i, b[0])
		}
		if i%4 == 3 {
			time.Sleep(150 * time.Millisecond) // between customers: an idle gap
		}
	}
	// Wait until the printer has everything, then stop the agent.
	for end := time.Now().Add(10 * time.Second); len(rec.bytes()) < sent.Len() && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-agentDone

	if len(readings) == 0 {
		t.Fatalf("the agent never got a reading (%d busy)", busy)
	}
	for _, r := range readings {
		if len(r.Faults) != 0 {
			t.Errorf("a healthy printer read as %+v", r.Faults)
		}
	}
	// What the printer received is the POS application's stream with the
	// agent's whole question blocks inserted at POS write boundaries.
	got := rec.bytes()
	status := []byte{0x10, 0x04, 0x01, 0x10, 0x04, 0x02, 0x10, 0x04, 0x03, 0x10, 0x04, 0x04}
	ident := []byte{0x1d, 0x49, 0x01, 0x1d, 0x49, 0x02, 0x1d, 0x49, 0x03}
	var pos2 bytes.Buffer
	inserted := 0
	atBoundary := map[int]bool{0: true}
	for _, b := range boundaries {
		atBoundary[b] = true
	}
	for i := 0; i < len(got); {
		if bytes.HasPrefix(got[i:], status) || bytes.HasPrefix(got[i:], ident) {
			if !atBoundary[pos2.Len()] {
				t.Fatalf("the agent's question came inside a POS write, after POS byte %d", pos2.Len())
			}
			n := len(status)
			if bytes.HasPrefix(got[i:], ident) {
				n = len(ident)
			}
			i += n
			inserted++
			continue
		}
		pos2.WriteByte(got[i])
		i++
	}
	if !bytes.Equal(pos2.Bytes(), sent.Bytes()) {
		a, b := pos2.Bytes(), sent.Bytes()
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Fatalf("the printer did not receive the POS application's bytes unchanged and in order: %d bytes vs %d sent, first difference at %d: % X (tap %+v)",
			pos2.Len(), sent.Len(), i, a[max(0, i-6):min(len(a), i+20)], l.tap.Stats())
	}
	if inserted < len(readings) {
		t.Errorf("%d agent question blocks found, %d readings", inserted, len(readings))
	}
	st := l.tap.Stats()
	if st.ToPOS != receipts {
		t.Errorf("the POS application was sent %d bytes, want exactly its %d status answers", st.ToPOS, receipts)
	}
	t.Logf("%d receipts, %d agent readings, %d busy (no idle gap), tap %+v", receipts, len(readings), busy, st)

	// The status is right: paper low on the printer shows in the agent's
	// next reading through the tap.
	printer.Switchboard().Set(devescpos.PaperLow, true)
	r, err := agent.Probe(context.Background())
	if err != nil || len(r.Faults) != 1 || r.Faults[0].Code != wire.FaultPaperLow {
		t.Errorf("paper low through the tap: %+v, %v", r, err)
	}
}

// A POS application reading weights from a scale through the tap gets every
// answer it asked for while the agent polls the same scale.
func TestTapScaleSharedWithThePOS(t *testing.T) {
	scale := devtoledo.New(devtoledo.Config{Load: 1.25, Parity: scalesim.None})
	l := startLane(t, scale, "?databits=8&parity=N")
	pos := l.pos(t, "?databits=8&parity=N")
	agent := l.driver(t, "toledo", nil)

	ctx, stop := context.WithCancel(context.Background())
	var readings int
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		for ctx.Err() == nil {
			r, err := agent.Probe(ctx)
			if err == nil {
				readings++
				if len(r.Faults) != 0 {
					t.Errorf("a healthy scale read as %+v", r.Faults)
				}
			} else if ctx.Err() == nil && !strings.Contains(err.Error(), "busy") {
				t.Errorf("agent probe through the tap: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for i := range 60 {
		if _, err := pos.Write([]byte("W")); err != nil {
			t.Fatal(err)
		}
		pos.SetDeadline(time.Now().Add(5 * time.Second))
		got, err := transport.ReadUntil(pos, []byte("\r"), 32)
		if err != nil {
			t.Fatalf("weighing %d: %v", i, err)
		}
		if string(got) != "\x02001.25\r" {
			t.Fatalf("weighing %d: the POS application read %q", i, got)
		}
		if i%5 == 4 {
			time.Sleep(120 * time.Millisecond)
		}
	}
	stop()
	<-agentDone
	if readings == 0 {
		t.Fatal("the agent never read the scale")
	}
	if st := l.tap.Stats(); st.ToPOS != 60*8 {
		t.Errorf("the POS application was sent %d bytes, want exactly its 60 answers of 8", st.ToPOS)
	}
	t.Logf("60 weighings by the POS, %d agent readings, tap %+v", readings, l.tap.Stats())
}

// A line the POS application never lets fall idle makes the agent's probe
// busy, not a fault, and the POS application's bytes are not held.
func TestTapBusyLineIsBusy(t *testing.T) {
	rec := &recording{dev: devescpos.New()}
	l := startLane(t, rec, "")
	pos := l.pos(t, "")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		for ctx.Err() == nil {
			pos.Write([]byte("x"))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(30 * time.Millisecond)
	pctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := l.driver(t, "escpos", nil).Probe(pctx)
	if err == nil || !strings.Contains(err.Error(), "kept the line busy") {
		t.Fatalf("err = %v, want busy", err)
	}
	if !errors.Is(err, drivers.ErrBusy) {
		t.Errorf("a line the POS keeps busy must read busy, not %v", err)
	}
	if st := l.tap.Stats(); st.Held != 0 || st.Sessions != 0 {
		t.Errorf("no session may start on a busy line: %+v", st)
	}
}

// keepBusy writes a byte to the device every 5 ms until the test ends, so
// the line never falls idle (a long print job).
func keepBusy(t *testing.T, pos transport.Conn) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { stop(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			pos.Write([]byte("x"))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(30 * time.Millisecond)
}

// The POS application switched on automatic status back and prints without
// a pause: the agent cannot ask, but the printer told the POS application
// its state (cover open) by itself, and the agent reads that instead of
// calling the printer busy. It never spoke on the line.
func TestTapASBOnABusyLine(t *testing.T) {
	printer := devescpos.New()
	printer.Switchboard().Set(devescpos.CoverOpen, true)
	l := startLane(t, &recording{dev: printer}, "")
	pos := l.pos(t, "")
	if _, err := pos.Write([]byte{0x1D, 0x61, 0x0F}); err != nil { // GS a 0F: ASB on
		t.Fatal(err)
	}
	pos.SetDeadline(time.Now().Add(5 * time.Second))
	asb, err := transport.ReadFull(pos, 4)
	if err != nil || asb[0]&0x20 == 0 {
		t.Fatalf("the POS application read ASB % X, %v; want cover open", asb, err)
	}
	keepBusy(t, pos)
	pctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r, err := l.driver(t, "escpos", nil).Probe(pctx)
	if err != nil || len(r.Faults) != 1 || r.Faults[0].Code != wire.FaultCoverOpen || !strings.Contains(r.Detail, "automatic status back") {
		t.Fatalf("probe on a busy line after an ASB = %+v, %v; want cover_open from the ASB", r, err)
	}
	if st := l.tap.Stats(); st.Sessions != 0 {
		t.Errorf("the agent spoke on a busy line: %+v", st)
	}
}

// The POS application switched the scale to a weight stream (SIR) that
// leaves the line no idle gap. The agent reads the stream: the weight,
// then an overload, without a byte of its own on the line, while the POS
// application gets every line of its stream.
func TestTapScaleStream(t *testing.T) {
	sc := devsics.New(devsics.Config{Load: 1.25, StreamInterval: 10 * time.Millisecond})
	l := startLane(t, sc, "")
	pos := l.pos(t, "")
	if _, err := pos.Write([]byte("SIR\r\n")); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		lines []string
	)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() { stop(); pos.Close(); <-done }()
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			pos.SetDeadline(time.Now().Add(time.Second))
			b, err := transport.ReadUntil(pos, []byte("\r\n"), 64)
			if err != nil {
				return
			}
			mu.Lock()
			lines = append(lines, string(b))
			mu.Unlock()
		}
	}()
	seen := func(want string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(lines) > 3 && strings.HasPrefix(lines[len(lines)-1], want)
		}
	}
	agent := l.driver(t, "sics", nil)
	testenv.WaitFor(t, 5*time.Second, "the POS application reading its stream", seen("S S"))
	r, err := agent.Probe(context.Background())
	if err != nil || len(r.Faults) != 0 || !strings.Contains(r.Detail, "1.250 kg") || !strings.Contains(r.Detail, "heard on the tap") {
		t.Fatalf("probe of a streaming scale = %+v, %v; want 1.250 kg heard on the tap", r, err)
	}
	sc.Switchboard().Set(scalesim.Overload, true)
	testenv.WaitFor(t, 5*time.Second, "the overload in the stream", seen("S +"))
	r, err = agent.Probe(context.Background())
	if err != nil || len(r.Faults) != 1 || r.Faults[0].Code != wire.FaultScaleOverload {
		t.Fatalf("probe of a streaming scale in overload = %+v, %v", r, err)
	}
	if st := l.tap.Stats(); st.Sessions != 0 || st.Held != 0 {
		t.Errorf("the agent spoke on the line: %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range lines[1:] {
		if !strings.HasPrefix(s, "S S ") && !strings.HasPrefix(s, "S +") {
			t.Fatalf("the POS application's stream carried %q", s)
		}
	}
}

// A scanner-scale the POS application weighs with (NCI W, 7E1): the agent
// reads the last answer the POS application got and sends nothing; once
// the POS application stops weighing, the agent asks itself.
func TestTapScaleAnswersToThePOS(t *testing.T) {
	l := startLane(t, devnci.New(devnci.Config{Load: 1.25}), "?databits=7&parity=E")
	pos := l.pos(t, "?databits=7&parity=E")
	for i := range 10 {
		if _, err := pos.Write([]byte("W\r")); err != nil {
			t.Fatal(err)
		}
		pos.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := transport.ReadUntil(pos, []byte{0x03}, 64); err != nil {
			t.Fatalf("weighing %d: %v", i, err)
		}
	}
	agent := l.driver(t, "nci", nil)
	r, err := agent.Probe(context.Background())
	if err != nil || len(r.Faults) != 0 || !strings.Contains(r.Detail, "heard on the tap") || r.Measurements["weight_kg"] == 0 {
		t.Fatalf("probe after the POS application's weighings = %+v, %v; want its last answer, heard on the tap", r, err)
	}
	if st := l.tap.Stats(); st.Sessions != 0 {
		t.Errorf("the agent spoke although the scale had just answered the POS: %+v", st)
	}
	r, err = agent.Probe(context.Background())
	if err != nil || strings.Contains(r.Detail, "heard on the tap") {
		t.Fatalf("probe of a quiet line = %+v, %v; want the agent's own W", r, err)
	}
	if st := l.tap.Stats(); st.Sessions != 1 {
		t.Errorf("the agent did not ask the quiet scale itself: %+v", st)
	}
}

// An agent exchange cut at the tap's hold limit while the driver is still
// writing: nothing the driver writes after the cut may reach the device,
// least of all behind the POS application's held bytes, which go out when
// the exchange ends; and the tap must go on passing bytes (a write at the
// cut once deadlocked it). The driver writes 'A's, the POS application
// 'p's; the device must never see an 'A' after a 'p'.
func TestTapNoAgentByteAfterTheCut(t *testing.T) {
	for round := range 20 {
		rec := &recording{dev: echoDevice{}}
		l := taptest.Start(t, rec, "", tap.Config{MaxHold: 5 * time.Millisecond, IdleGap: time.Millisecond, ReplyWait: time.Millisecond})
		pos := l.POS(t, "", transport.SerialMode{})
		s, err := l.Tap.Session(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if _, err := s.Write([]byte("A")); err != nil {
					return
				}
			}
		}()
		if _, err := pos.Write([]byte("ppp")); err != nil {
			t.Fatal(err)
		}
		<-done
		testenv.WaitFor(t, 5*time.Second, "the held bytes", func() bool { return bytes.Count(rec.bytes(), []byte("p")) == 3 })
		s.Close()
		if got := rec.bytes(); bytes.LastIndexByte(got, 'A') > bytes.IndexByte(got, 'p') {
			t.Fatalf("round %d: an agent byte reached the device after the POS application's held bytes: ...%q", round, got[bytes.IndexByte(got, 'p'):])
		}
	}
}
