package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// OpResend asks an agent to publish again the numbered messages (events and
// metrics) it still has, by sequence number: the hub's answer to a gap that
// stays open, when a broker lost messages it had acknowledged to the agent
// (a broker node or a hub replica lost in the middle of a delivery). It is
// an agent-level operation: the request names no device (Device is empty),
// Args["seqs"] lists the numbers (FormatSpans) and the answer's Result is a
// ResendResult. Read-only: the agent republishes what it already sent.
const OpResend = "resend"

// ResendLimits bound one resend request: at most MaxResendSpans ranges and
// MaxResendNumbers numbers in all. A hub asks again for what is left.
const (
	MaxResendSpans   = 64
	MaxResendNumbers = 4096
)

// SeqSpan is a range of sequence numbers, both ends included.
type SeqSpan struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// Len is how many numbers the span holds.
func (s SeqSpan) Len() uint64 { return s.To - s.From + 1 }

// ResendResult is CommandResponse.Result of a resend request.
type ResendResult struct {
	// Resent counts the messages published again (they follow the answer
	// on their own channels, with their original headers).
	Resent int `json:"resent"`
	// Pending counts numbers still waiting in the agent's outbox: they come
	// by the usual way.
	Pending int `json:"pending"`
	// Gone lists the numbers the agent no longer has (FormatSpans): telemetry
	// collapsed or dropped when its outbox was full, or messages older than
	// what it keeps once sent. Asking again will not bring them.
	Gone string `json:"gone,omitempty"`
}

// FormatSpans writes spans as "5,7-9": the form of Args["seqs"] and
// ResendResult.Gone.
func FormatSpans(spans []SeqSpan) string {
	var b strings.Builder
	for i, s := range spans {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(s.From, 10))
		if s.To != s.From {
			b.WriteByte('-')
			b.WriteString(strconv.FormatUint(s.To, 10))
		}
	}
	return b.String()
}

// ParseSpans reads FormatSpans' form. The ranges must be ascending, apart
// and non-empty, numbers start at 1, and there may be at most
// MaxResendSpans of them holding at most MaxResendNumbers numbers: a
// request is bounded before the agent touches its outbox.
func ParseSpans(s string) ([]SeqSpan, error) {
	if s == "" {
		return nil, fmt.Errorf("seqs: empty")
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxResendSpans {
		return nil, fmt.Errorf("seqs: %d ranges, at most %d", len(parts), MaxResendSpans)
	}
	var out []SeqSpan
	var total uint64
	for _, p := range parts {
		from, to, isRange := strings.Cut(p, "-")
		a, err := strconv.ParseUint(from, 10, 64)
		if err != nil || a == 0 || from[0] == '+' {
			return nil, fmt.Errorf("seqs: %q is not a sequence number", from)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(to, 10, 64); err != nil || to[0] == '+' {
				return nil, fmt.Errorf("seqs: %q is not a sequence number", to)
			}
		}
		if b < a {
			return nil, fmt.Errorf("seqs: range %q runs backwards", p)
		}
		if len(out) > 0 && a <= out[len(out)-1].To+1 {
			return nil, fmt.Errorf("seqs: range %q overlaps or touches the one before (ranges ascend, apart)", p)
		}
		n := SeqSpan{a, b}.Len()
		if n == 0 || total+n > MaxResendNumbers || total+n < total {
			return nil, fmt.Errorf("seqs: more than %d numbers", MaxResendNumbers)
		}
		total += n
		out = append(out, SeqSpan{a, b})
	}
	return out, nil
}
