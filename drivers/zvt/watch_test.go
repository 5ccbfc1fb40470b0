package zvt

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// line is one step of a serial ZVT line as the tap sees it: a frame (with
// the other side's link ACK after it) from the ECR or from the terminal.
type line struct {
	fromECR bool
	apdu    []byte
	within  bool // what the watcher says after the step
}

func ecr(within bool, apdu ...byte) line { return line{true, apdu, within} }
func pt(within bool, apdu ...byte) line  { return line{false, apdu, within} }

func TestTransactionWatcher(t *testing.T) {
	cases := []struct {
		name  string
		steps []line
	}{
		{"payment with intermediate status", []line{
			ecr(true, 0x06, 0x01, 0x00), pt(true, 0x80, 0x00, 0x00),
			pt(true, 0x04, 0xFF, 0x01, 0x0A), ecr(true, 0x80, 0x00, 0x00),
			pt(true, 0x04, 0x0F, 0x01, 0x00), ecr(true, 0x80, 0x00, 0x00),
			pt(true, 0x06, 0x0F, 0x01, 0x00), ecr(false, 0x80, 0x00, 0x00),
		}},
		{"ended by the terminal's abort", []line{
			ecr(true, 0x06, 0x01, 0x00), pt(true, 0x80, 0x00, 0x00),
			pt(true, 0x06, 0x1E, 0x01, 0x6C), ecr(false, 0x80, 0x00, 0x00),
		}},
		{"refused with please wait", []line{
			ecr(true, 0x06, 0x01, 0x00), pt(false, 0x84, 0x9C, 0x00),
		}},
		{"the ECR's abort waits for the terminal", []line{
			ecr(true, 0x06, 0x01, 0x00), pt(true, 0x80, 0x00, 0x00),
			ecr(true, 0x06, 0xB0, 0x00), pt(true, 0x80, 0x00, 0x00),
			pt(true, 0x06, 0x1E, 0x01, 0x6C), ecr(false, 0x80, 0x00, 0x00),
		}},
		{"DLE in the data and the CRC", []line{
			ecr(true, 0x05, 0x01, 0x00), pt(true, 0x80, 0x00, 0x00),
			pt(true, 0x06, 0x0F, 0x02, 0xC4, 0x10), ecr(false, 0x80, 0x00, 0x00),
		}},
		{"a stray acknowledge opens nothing", []line{
			ecr(false, 0x80, 0x00, 0x00), pt(false, 0x80, 0x00, 0x00),
		}},
	}
	for _, escape := range []bool{false, true} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/crc_escape=%v", c.name, escape), func(t *testing.T) {
				w := NewTransactionWatcher()
				now := time.Unix(1000, 0)
				for i, s := range c.steps {
					frame := EncodeFrame(s.apdu, escape)
					// The frame arrives in two pieces, the other side's
					// link ACK after it.
					half := len(frame) / 2
					w.Observe(s.fromECR, frame[:half], now)
					w.Observe(s.fromECR, frame[half:], now)
					w.Observe(!s.fromECR, []byte{ack}, now)
					if got, what := w.Within(now); got != s.within {
						t.Fatalf("step %d (% X): within %v (%s), want %v", i, s.apdu, got, what, s.within)
					}
				}
			})
		}
	}
}

// A transaction whose end the watcher never saw (the ECR died) frees the
// line after Quiet without a byte.
func TestTransactionWatcherQuiet(t *testing.T) {
	w := NewTransactionWatcher()
	now := time.Unix(1000, 0)
	w.Observe(true, EncodeFrame([]byte{0x06, 0x01, 0x00}, false), now)
	if in, what := w.Within(now.Add(TransactionQuiet - time.Second)); !in || what != "a ZVT transaction (command 06 01)" {
		t.Fatalf("Within = %v %q just before Quiet", in, what)
	}
	if in, _ := w.Within(now.Add(TransactionQuiet)); in {
		t.Fatal("still within a transaction after Quiet without a byte")
	}
}

// FuzzFrameScanner: any bytes, cut anywhere, never upset the scanner, and
// a good frame after them is still found.
func FuzzFrameScanner(f *testing.F) {
	seeds(f)
	f.Add([]byte{dle, stx, 0x06, 0x01, dle, dle, dle, etx, dle, dle, 0x02})
	f.Add([]byte{0x00, dle, stx, dle, etx}) // left in the CRC
	f.Fuzz(func(t *testing.T, b []byte) {
		var s frameScanner
		for len(b) > 0 {
			n := 1 + int(b[0])%7
			n = min(n, len(b))
			s.feed(b[:n], func([]byte) {})
			b = b[n:]
		}
		// Whatever came before, the second of two frames is read whole:
		// the bytes before may have left the scanner inside a frame or
		// its CRC, which can cost the first (on a real line the sender
		// repeats a frame the other side NAKs).
		want := []byte{0x06, 0x70, 0x01, dle}
		var got [][]byte
		s.feed([]byte{ack}, func([]byte) {})
		s.feed(EncodeFrame([]byte{0x80, 0x00, 0x00}, false), func([]byte) {})
		s.feed([]byte{ack}, func([]byte) {})
		s.feed(EncodeFrame(want, false), func(a []byte) { got = append(got, bytes.Clone(a)) })
		if len(got) == 0 || !bytes.Equal(got[len(got)-1], want) {
			t.Fatalf("frame after the fuzz bytes read as % X, want % X", got, want)
		}
	})
}
