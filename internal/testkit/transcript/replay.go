package transcript

import (
	"bytes"
	"context"
	"io"
	"sync"
)

// Replay is a device that answers a transcript case: when the bytes it has
// received end with a pending request, it sends that exchange's response and
// drops the exchange. A request it does not know gets no answer, which the
// driver sees as a timeout, so a driver asking more than the transcript says
// fails its test. Requests are matched by content, not order (unlike a Script); repeated
// requests are answered in file order, and the file's defaults answer what
// the case's own exchanges do not.
type Replay struct {
	mu       sync.Mutex
	pending  []Step
	defaults []Step
	got      [][]byte
}

// NewReplay serves the case's exchanges.
func NewReplay(c Case) *Replay {
	return &Replay{pending: append([]Step(nil), c.Steps...), defaults: c.Defaults}
}

// Received lists the requests answered so far, in order.
func (r *Replay) Received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...)
}

// Serve implements devsim.Device: serve a Replay on a PTY (devsim.ServePTY).
func (r *Replay) Serve(ctx context.Context, rw io.ReadWriter) error {
	var in []byte
	buf := make([]byte, 256)
	for {
		n, err := rw.Read(buf)
		if err != nil {
			return err
		}
		in = append(in, buf[:n]...)
		if resp, ok := r.match(in); ok {
			in = in[:0]
			if _, err := rw.Write(resp); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (r *Replay) match(in []byte) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.pending {
		if len(e.Request) > 0 && bytes.HasSuffix(in, e.Request) {
			r.pending = append(r.pending[:i], r.pending[i+1:]...)
			r.got = append(r.got, e.Request)
			return e.Response, true
		}
	}
	for _, e := range r.defaults {
		if len(e.Request) > 0 && bytes.HasSuffix(in, e.Request) {
			r.got = append(r.got, e.Request)
			return e.Response, true
		}
	}
	return nil, false
}
