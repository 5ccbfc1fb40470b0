package ssi

import (
	"errors"
	"os"
	"testing"

	"github.com/storewatch/storewatch/internal/testkit/transcript"

	"github.com/storewatch/storewatch/drivers"
)

// TestTranscripts plays testdata/revision.txt against the exchange code.
func TestTranscripts(t *testing.T) {
	for _, c := range transcript.Load(t, "testdata/revision.txt") {
		t.Run(c.Name, func(t *testing.T) {
			line := transcript.NewScript(c)
			rev, err := requestRevision(line)
			if err := line.Err(); err != nil {
				t.Fatal(err)
			}
			if want, ok := c.Expect["error"]; ok {
				is := map[string]error{"protocol": drivers.ErrProtocol, "timeout": os.ErrDeadlineExceeded}[want]
				if !errors.Is(err, is) {
					t.Fatalf("err = %v, want a %s error", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if next, left := line.Next(); left {
				t.Errorf("driver never sent % X", next.Request)
			}
			for k, got := range map[string]string{"firmware": rev.Software, "board": rev.Board, "engine": rev.Engine} {
				if want, ok := c.Expect[k]; ok && got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestHostPackets: the bytes the driver sends match B.2.
func TestHostPackets(t *testing.T) {
	for _, v := range []struct {
		p    Packet
		want string
	}{
		{hostPacket(opRequestRevision), "04 A3 04 00 FF 55"},
		{hostPacket(opCmdAck), "04 D0 04 00 FF 28"},
		{hostPacket(0xE9), "04 E9 04 00 FF 0F"},
		{hostPacket(opCmdNak, 0x01), "05 D1 04 00 01 FF 25"},
		{hostPacket(0xC7, 0x8C), "05 C7 04 00 8C FE A4"},
	} {
		if got := v.p.String(); got != v.want {
			t.Errorf("packet %02X = %s, want %s", v.p.Opcode, got, v.want)
		}
		b, _ := transcript.Bytes(v.want)
		back, err := ParsePacket(b)
		if err != nil || back.String() != v.want {
			t.Errorf("ParsePacket(%s) = %s, %v", v.want, back, err)
		}
	}
}

func TestParsePacketRejects(t *testing.T) {
	for _, in := range []string{"", "04 A3 04 00 FF", "04 A3 04 00 FF 56", "03 A3 04 00 FF 56", "05 A3 04 00 FF 55"} {
		b, _ := transcript.Bytes(in)
		if _, err := ParsePacket(b); err == nil {
			t.Errorf("ParsePacket(%s) accepted", in)
		}
	}
}
