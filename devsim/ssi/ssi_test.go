package ssi

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

func exchange(t *testing.T, sc *Scanner, send string, wantLen int) []byte {
	t.Helper()
	host, dev := net.Pipe()
	defer host.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { sc.Serve(ctx, dev); dev.Close() }()
	host.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := host.Write(unhex(t, send)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, wantLen)
	if _, err := io.ReadFull(host, got); err != nil {
		t.Fatal(err)
	}
	return got
}

// Packets from device-protocols.md B.2.
func TestPackets(t *testing.T) {
	if got := packet(0xD0); hex.EncodeToString(got) != "04d00000ff2c" {
		// Decoder-sourced CMD_ACK: source 00 instead of the host's 04, so
		// the checksum is 4 higher than B.2's host packet 04 D0 04 00 FF 28.
		t.Errorf("CMD_ACK from the decoder = % X", got)
	}
	sc := New()
	sc.SetRevision("AB")
	got := exchange(t, sc, "04 A3 04 00 FF 55", 8)
	if want := unhex(t, "06 A4 00 00 41 42 FE D3"); string(got) != string(want) {
		t.Errorf("REPLY_REVISION = % X, want % X", got, want)
	}
	// A host packet with a bad checksum is asked for again.
	got = exchange(t, New(), "04 A3 04 00 FF 54", 7)
	if want := unhex(t, "05 D1 00 00 01 FF 29"); string(got) != string(want) {
		t.Errorf("answer to a damaged packet = % X, want CMD_NAK resend % X", got, want)
	}
}
