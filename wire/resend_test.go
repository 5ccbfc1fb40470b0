package wire

import (
	"strings"
	"testing"
	"time"
)

func TestSpansRoundTrip(t *testing.T) {
	cases := []struct {
		in   string
		want []SeqSpan
		err  string
	}{
		{in: "5", want: []SeqSpan{{5, 5}}},
		{in: "5,7-9,20-20", want: []SeqSpan{{5, 5}, {7, 9}, {20, 20}}},
		{in: "", err: "empty"},
		{in: "0", err: "not a sequence number"},
		{in: "9-7", err: "backwards"},
		{in: "5,6", err: "touches"},
		{in: "5-9,8", err: "overlaps"},
		{in: "+5", err: "not a sequence number"},
		{in: "5-", err: "not a sequence number"},
		{in: "a-b", err: "not a sequence number"},
		{in: "1-5000", err: "more than 4096"},
		{in: "1-18446744073709551615", err: "more than 4096"},
		{in: strings.Repeat("1,", 64) + "1", err: "at most 64"},
	}
	for _, c := range cases {
		got, err := ParseSpans(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseSpans(%q) = %v, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Fatalf("ParseSpans(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("ParseSpans(%q)[%d] = %v, want %v", c.in, i, got[i], c.want[i])
			}
		}
		if back := FormatSpans(got); back != strings.ReplaceAll(c.in, "20-20", "20") {
			t.Errorf("FormatSpans(ParseSpans(%q)) = %q", c.in, back)
		}
	}
}

// FuzzParseSpans: no input panics, and what parses is within the limits and
// writes back to a form that parses to the same spans.
func FuzzParseSpans(f *testing.F) {
	for _, s := range []string{"5", "5,7-9", "1-4096", "18446744073709551615", "3-2", ",", "1,,2", "-", "1--2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spans, err := ParseSpans(s)
		if err != nil {
			return
		}
		var total uint64
		for i, sp := range spans {
			if sp.From == 0 || sp.To < sp.From || (i > 0 && sp.From <= spans[i-1].To+1) {
				t.Fatalf("%q: bad span %v in %v", s, sp, spans)
			}
			total += sp.Len()
		}
		if len(spans) > MaxResendSpans || total > MaxResendNumbers {
			t.Fatalf("%q: %d spans, %d numbers: over the limits", s, len(spans), total)
		}
		again, err := ParseSpans(FormatSpans(spans))
		if err != nil || len(again) != len(spans) {
			t.Fatalf("%q: written back as %q: %v, %v", s, FormatSpans(spans), again, err)
		}
		for i := range spans {
			if again[i] != spans[i] {
				t.Fatalf("%q: written back as %q reads %v", s, FormatSpans(spans), again)
			}
		}
	})
}

// resend is agent-level: it names no device, and every other operation
// names one.
func TestCommandDeviceByOperation(t *testing.T) {
	base := func(op, device string) *CommandRequest {
		return &CommandRequest{Header: Header{AgentID: AgentID{Tenant: "acme", Store: "s1", Agent: "a"}, Time: time.Now()},
			ID: "q1", Device: device, Op: op, Expires: time.Now().Add(time.Minute)}
	}
	for _, c := range []struct {
		op, device string
		ok         bool
	}{
		{OpResend, "", true},
		{OpResend, "receipt-lane3", false},
		{OpStatus, "receipt-lane3", true},
		{OpStatus, "", false},
	} {
		_, err := Encode(base(c.op, c.device))
		if (err == nil) != c.ok {
			t.Errorf("op %s device %q: %v, want ok %v", c.op, c.device, err, c.ok)
		}
	}
}
