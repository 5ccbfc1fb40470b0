package zvt

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/storewatch/storewatch/devsim"
)

// Fault names, each with the terminal status code it makes the PT report.
var statusFaults = []struct {
	name string
	code byte
}{
	{"not_ready", 0xE0},               // remote maintenance activated
	{"host_unreachable", 0xA3},        // no connection
	{"reconciliation_required", 0xF0}, // open end-of-day batch
	{"activation_required", 0xE4},     // terminal activation required
	{"hardware_fault", 0xE2},          // card reader defective
	{"card_inserted", 0xDC},           // a card was left in the reader
}

// FaultBusy makes the PT behave as if a payment were running.
const FaultBusy = "busy"

// FaultAbort makes the PT end the Status Enquiry with Abort (06 1E) and
// result code AbortCode instead of a completion. The ECR must acknowledge
// it with 80 00 00 as it does a completion; the terminal checks that it
// does (Unacknowledged).
const FaultAbort = "abort"

// AbortCode is the result code of FaultAbort's abort: 6C, "abort via
// timeout or abort key" (reference 5.1: 06 1E 01 6C).
const AbortCode = 0x6C

// Framing selects how APDUs travel.
type Framing int

// Framings. Auto decides per connection from the first byte: a serial frame
// starts with DLE (10), which is no APDU class.
const (
	Auto Framing = iota
	Raw
	Serial
)

// Terminal is the emulated PT.
type Terminal struct {
	// Framing of APDUs; Auto by default.
	Framing Framing
	// EscapeCRC doubles a CRC byte equal to DLE in frames the PT sends, and
	// expects the ECR to do the same. The reference leaves open which is
	// right (section 10); a terminal of either kind can be emulated.
	EscapeCRC bool
	// Software is sent as the software version in the completion unless
	// the ECR sent a service byte.
	Software string
	// TerminalID (eight digits) is sent as BMP 29 after the status, when set.
	TerminalID string
	// Steps is how many intermediate status messages (04 FF) a Diagnosis
	// (06 70) sends before its completion, StepPause apart: the terminal
	// talks to its host, and the line is quiet in between. Each must be
	// acknowledged by the ECR with 80 00 00.
	Steps     int
	StepPause time.Duration

	faults *devsim.Faults

	mu       sync.Mutex
	status   byte
	received [][]byte
	aborted  int
	unacked  []string
	running  bool
	disturbs []string
}

// New returns a ready terminal.
func New() *Terminal {
	names := []string{FaultBusy, FaultAbort, devsim.FaultGarbage, devsim.FaultSilent, devsim.FaultSlow}
	for _, f := range statusFaults {
		names = append(names, f.name)
	}
	return &Terminal{Software: "GER-EMU 1.4.2", TerminalID: "52500123", faults: devsim.NewFaults(names...)}
}

func init() {
	devsim.Register("zvt", func() devsim.Switchable { return New() })
}

// Switchboard returns the fault switches.
func (t *Terminal) Switchboard() *devsim.Faults { return t.faults }

// SetStatus sets the terminal status code reported when no status fault is
// switched on (00 = ready).
func (t *Terminal) SetStatus(code byte) {
	t.mu.Lock()
	t.status = code
	t.mu.Unlock()
}

// Received returns the APDUs the ECR sent, in order.
func (t *Terminal) Received() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([][]byte, len(t.received))
	copy(out, t.received)
	return out
}

// Aborted returns how many abort commands (06 B0) arrived while a payment
// was running.
func (t *Terminal) Aborted() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.aborted
}

// Unacknowledged lists the completions and aborts the ECR did not answer
// with 80 00 00 (it sent something else, or closed the line), with what
// came instead.
func (t *Terminal) Unacknowledged() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.unacked...)
}

func (t *Terminal) currentStatus() byte {
	for _, f := range statusFaults {
		if t.faults.On(f.name) {
			return f.code
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status
}

// Serve answers one ECR connection.
func (t *Terminal) Serve(ctx context.Context, rw io.ReadWriter) error {
	in := &reader{r: rw}
	framing := t.Framing
	if framing == Auto {
		b, err := in.peek()
		if err != nil {
			return err
		}
		framing = Raw
		if b == 0x10 {
			framing = Serial
		}
	}
	var ch channel = &rawChannel{in: in, w: rw}
	if framing == Serial {
		ch = &serialChannel{in: in, w: rw, escapeCRC: t.EscapeCRC, mute: func() bool { return t.faults.On(devsim.FaultSilent) }}
	}
	for {
		cmd, err := ch.receive()
		if err != nil {
			if devsim.IsClosed(err) || ctx.Err() != nil {
				return nil
			}
			if isLineError(err) {
				continue
			}
			return err
		}
		t.mu.Lock()
		t.received = append(t.received, cmd)
		t.mu.Unlock()
		if err := t.handle(ctx, ch, rw, cmd); err != nil {
			return err
		}
	}
}

// handle answers one command.
func (t *Terminal) handle(ctx context.Context, ch channel, raw io.Writer, cmd []byte) error {
	if t.faults.On(devsim.FaultSilent) {
		return nil
	}
	t.faults.Pause(ctx)
	if t.faults.On(devsim.FaultGarbage) {
		_, err := raw.Write([]byte("\xDE\xAD\xBE\xEF GARBAGE \x7F\x00"))
		return err
	}
	class, instr := cmd[0], cmd[1]
	busy := t.faults.On(FaultBusy)
	switch {
	case class == 0x06 && instr == 0xB0: // Abort
		if busy {
			t.mu.Lock()
			t.aborted++
			t.mu.Unlock()
		}
		return ch.send(apdu(0x80, 0x00))
	case class == 0x80 && instr == 0x00:
		// A stray acknowledge; nothing to answer.
		return nil
	case busy:
		// A payment holds the terminal: "please wait".
		return ch.send(apdu(0x84, 0x9C))
	case class == 0x05 && instr == 0x01:
		return t.statusEnquiry(ch, cmd)
	case class == 0x06 && instr == 0x70:
		return t.diagnosis(ctx, ch)
	default:
		// "other command": not supported by this emulator.
		return ch.send(apdu(0x84, 0x83))
	}
}

// statusEnquiry: 80 00 00, then 06 0F with the status (or, with
// FaultAbort, 06 1E with AbortCode), then the ECR's ack.
func (t *Terminal) statusEnquiry(ch channel, cmd []byte) error {
	data := body(cmd)
	// <password 3 bytes BCD> [03 <service byte>] [06 <TLV>]
	serviceByte := len(data) >= 5 && data[3] == 0x03
	if err := ch.send(apdu(0x80, 0x00)); err != nil {
		return err
	}
	if t.faults.On(FaultAbort) {
		return t.sendAwaitingAck(ch, apdu(0x06, 0x1E, AbortCode))
	}
	var out []byte
	if !serviceByte && t.Software != "" {
		n := len(t.Software)
		out = append(out, 0xF0|byte(n/100%10), 0xF0|byte(n/10%10), 0xF0|byte(n%10))
		out = append(out, t.Software...)
	}
	out = append(out, t.currentStatus())
	if tid, ok := packBCD(t.TerminalID); ok {
		out = append(out, 0x29)
		out = append(out, tid...)
	}
	return t.sendAwaitingAck(ch, apdu(0x06, 0x0F, out...))
}

// Running reports whether a Diagnosis is under way.
func (t *Terminal) Running() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running
}

// Disturbed lists what broke into a running Diagnosis: anything the ECR
// line carried other than the acknowledges the terminal waited for.
func (t *Terminal) Disturbed() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.disturbs...)
}

// diagnosis (06 70): 80 00 00, then Steps intermediate status messages
// (04 FF), each acknowledged by the ECR, then the completion 06 0F with
// the terminal status, acknowledged too (reference 5.1: ECR command, PT
// acknowledge, intermediate status, completion handing back master
// rights).
func (t *Terminal) diagnosis(ctx context.Context, ch channel) error {
	if err := ch.send(apdu(0x80, 0x00)); err != nil {
		return err
	}
	t.mu.Lock()
	t.running = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.running = false
		t.mu.Unlock()
	}()
	for i := range t.Steps {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(t.StepPause):
		}
		msg := apdu(0x04, 0xFF, byte(i+1))
		if err := ch.send(msg); err != nil {
			t.disturbed(fmt.Sprintf("% X: %v", msg, err))
			return err
		}
		reply, err := ch.receive()
		if err != nil {
			t.disturbed(fmt.Sprintf("% X: no acknowledge (%v)", msg, err))
			return err
		}
		t.mu.Lock()
		t.received = append(t.received, reply)
		t.mu.Unlock()
		if len(reply) < 3 || reply[0] != 0x80 || reply[1] != 0x00 {
			t.disturbed(fmt.Sprintf("% X: answered with % X", msg, reply))
			return fmt.Errorf("zvt emulator: % X during a Diagnosis", reply)
		}
	}
	return t.sendAwaitingAck(ch, apdu(0x06, 0x0F, t.currentStatus()))
}

func (t *Terminal) disturbed(what string) {
	t.mu.Lock()
	t.disturbs = append(t.disturbs, what)
	t.mu.Unlock()
}

// sendAwaitingAck sends a message that ends the ECR's command (completion
// or abort), which the ECR must acknowledge with 80 00 00. What the ECR did
// instead is recorded for Unacknowledged; a wrong answer also ends the
// connection with an error.
func (t *Terminal) sendAwaitingAck(ch channel, msg []byte) error {
	if err := ch.send(msg); err != nil {
		return err
	}
	reply, err := ch.receive()
	if err != nil {
		t.mu.Lock()
		t.unacked = append(t.unacked, fmt.Sprintf("% X: no acknowledge (%v)", msg, err))
		t.mu.Unlock()
		return err
	}
	t.mu.Lock()
	t.received = append(t.received, reply)
	ok := len(reply) >= 3 && reply[0] == 0x80 && reply[1] == 0x00 && reply[2] == 0x00
	if !ok {
		t.unacked = append(t.unacked, fmt.Sprintf("% X: answered with % X", msg, reply))
	}
	t.mu.Unlock()
	if !ok {
		return fmt.Errorf("zvt emulator: ECR answered % X with % X, want 80 00 00", msg, reply)
	}
	return nil
}

// apdu encodes class, instr and data with the one-byte or FF lo hi length.
func apdu(class, instr byte, data ...byte) []byte {
	out := []byte{class, instr}
	if len(data) <= 254 {
		out = append(out, byte(len(data)))
	} else {
		out = append(out, 0xFF, byte(len(data)&0xFF), byte(len(data)>>8))
	}
	return append(out, data...)
}

// body returns the data block of an encoded APDU.
func body(a []byte) []byte {
	if len(a) >= 5 && a[2] == 0xFF {
		return a[5:]
	}
	return a[3:]
}

// packBCD packs eight decimal digits into four bytes.
func packBCD(s string) ([]byte, bool) {
	if len(s) != 8 {
		return nil, false
	}
	out := make([]byte, 4)
	for i := 0; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil, false
		}
		if i%2 == 0 {
			out[i/2] = (s[i] - '0') << 4
		} else {
			out[i/2] |= s[i] - '0'
		}
	}
	return out, true
}
