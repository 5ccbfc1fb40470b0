package ingest

import (
	"sync"
	"time"
	"unicode/utf8"
)

// Rejected is a message the hub refused, kept for inspection.
type Rejected struct {
	At      time.Time `json:"at"`
	Topic   string    `json:"topic"`
	Client  string    `json:"client,omitempty"` // the broker's client id or user, when known
	Reason  string    `json:"reason"`           // malformed, unsupported_version, wrong_type, invalid, too_large, topic, identity_mismatch
	Error   string    `json:"error"`
	Payload string    `json:"payload"` // the first bytes, as text when it is text
	Size    int       `json:"size"`
}

// MaxKeptPayload bounds the bytes kept per rejected message.
const MaxKeptPayload = 2048

// Ring keeps the last N rejected messages.
type Ring struct {
	mu   sync.Mutex
	buf  []Rejected
	next int
	full bool
}

// NewRing returns a ring of n entries.
func NewRing(n int) *Ring { return &Ring{buf: make([]Rejected, max(n, 1))} }

// Add records r, dropping the oldest when full.
func (r *Ring) Add(x Rejected, payload []byte) {
	x.Size = len(payload)
	p := payload
	if len(p) > MaxKeptPayload {
		p = p[:MaxKeptPayload]
	}
	if utf8.Valid(p) {
		x.Payload = string(p)
	} else {
		x.Payload = "(binary) " + hexPrefix(p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = x
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

func hexPrefix(p []byte) string {
	const digits = "0123456789abcdef"
	if len(p) > 256 {
		p = p[:256]
	}
	out := make([]byte, 0, 2*len(p))
	for _, b := range p {
		out = append(out, digits[b>>4], digits[b&15])
	}
	return string(out)
}

// List returns the kept messages, newest first.
func (r *Ring) List() []Rejected {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	out := make([]Rejected, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	return out
}
