package zvt

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// talk serves term on one end of a pipe and plays exchanges on the other:
// each write is followed by reading exactly the expected answer.
func talk(t *testing.T, term *Terminal, steps [][2]string) {
	t.Helper()
	ecr, pt := net.Pipe()
	defer ecr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- term.Serve(ctx, pt); pt.Close() }()
	ecr.SetDeadline(time.Now().Add(5 * time.Second))
	for _, s := range steps {
		if s[0] != "" {
			if _, err := ecr.Write(unhex(t, s[0])); err != nil {
				t.Fatal(err)
			}
		}
		want := unhex(t, s[1])
		got := make([]byte, len(want))
		if _, err := io.ReadFull(ecr, got); err != nil {
			t.Fatalf("after % X: read: %v", unhex(t, s[0]), err)
		}
		if string(got) != string(want) {
			t.Fatalf("after %s: got % X, want % X", s[0], got, want)
		}
	}
}

// Vectors from device-protocols.md 5.1 and B.3.
func TestStatusEnquiryTCP(t *testing.T) {
	term := New()
	term.Software, term.TerminalID = "", ""
	term.SetStatus(0xDC)
	talk(t, term, [][2]string{
		{"05 01 05 12 34 56 03 07", "80 00 00 06 0F 01 DC"},
	})
}

func TestStatusEnquirySerial(t *testing.T) {
	term := New()
	term.Software, term.TerminalID = "", ""
	term.SetStatus(0xDC)
	talk(t, term, [][2]string{
		{"10 02 05 01 00 10 03 10 06", "06 10 02 80 00 00 10 03 F5 1F"},
		{"06", "10 02 06 0F 01 DC 10 03 BD 17"},
		{"06", ""},
		{"10 02 80 00 00 10 03 F5 1F", "06"},
	})
}

// FaultAbort ends the enquiry with 06 1E 01 6C (reference 5.1), which the
// ECR acknowledges as it would a completion: on serial inside a DLE STX
// frame, after the link ACK.
func TestAbortIsAcknowledged(t *testing.T) {
	term := New()
	term.Switchboard().Set(FaultAbort, true)
	talk(t, term, [][2]string{
		{"05 01 00", "80 00 00 06 1E 01 6C"},
		{"80 00 00", ""},
	})
	if u := term.Unacknowledged(); len(u) != 0 {
		t.Errorf("TCP: unacknowledged %q", u)
	}
	term = New()
	term.Switchboard().Set(FaultAbort, true)
	// CRC-16/KERMIT of 06 1E 01 6C 03 is F2C9 (reference B.3's algorithm).
	abort := "10 02 06 1E 01 6C 10 03 C9 F2"
	talk(t, term, [][2]string{
		{"10 02 05 01 00 10 03 10 06", "06 10 02 80 00 00 10 03 F5 1F"},
		{"06", abort},
		{"06", ""},
		{"10 02 80 00 00 10 03 F5 1F", "06"},
	})
	if u := term.Unacknowledged(); len(u) != 0 {
		t.Errorf("serial: unacknowledged %q", u)
	}
}

// An ECR that answers the abort with anything but 80 00 00 is recorded.
func TestUnacknowledgedAbortIsRecorded(t *testing.T) {
	term := New()
	term.Switchboard().Set(FaultAbort, true)
	ecr, pt := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- term.Serve(context.Background(), pt) }()
	ecr.SetDeadline(time.Now().Add(5 * time.Second))
	ecr.Write(unhex(t, "05 01 00"))
	io.ReadFull(ecr, make([]byte, 7))
	ecr.Close() // the ECR goes away without acknowledging
	<-done
	if u := term.Unacknowledged(); len(u) != 1 || !strings.HasPrefix(u[0], "06 1E 01 6C") {
		t.Errorf("unacknowledged %q, want the abort", u)
	}
}

func TestSoftwareVersionAndTerminalID(t *testing.T) {
	term := New()
	term.Software, term.TerminalID = "V1", "12345678"
	talk(t, term, [][2]string{
		{"05 01 00", "80 00 00 06 0F 0B F0 F0 F2 56 31 00 29 12 34 56 78"},
		{"80 00 00", ""},
		// A service byte asks for the status without the software version.
		{"05 01 05 12 34 56 03 07", "80 00 00 06 0F 06 00 29 12 34 56 78"},
	})
}

func TestBadCRCIsNAKed(t *testing.T) {
	term := New()
	talk(t, term, [][2]string{
		{"10 02 05 01 00 10 03 10 07", "15"},
	})
}

func TestEscapedCRC(t *testing.T) {
	term := New()
	term.EscapeCRC = true
	term.Software, term.TerminalID = "", ""
	term.SetStatus(0x00)
	talk(t, term, [][2]string{
		{"10 02 05 01 00 10 03 10 10 06", "06 10 02 80 00 00 10 03 F5 1F"},
	})
}

func TestBusyRefusesAndCountsAborts(t *testing.T) {
	term := New()
	term.Switchboard().Set(FaultBusy, true)
	talk(t, term, [][2]string{
		{"05 01 00", "84 9C 00"},
		{"06 B0 00", "80 00 00"},
	})
	if term.Aborted() != 1 {
		t.Errorf("Aborted() = %d, want 1", term.Aborted())
	}
}
