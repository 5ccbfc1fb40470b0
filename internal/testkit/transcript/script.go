package transcript

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"
)

// Script is a device that plays a case: it checks that the driver writes the
// requests in order and hands back the answers. A read with nothing to hand
// back fails at once with a timeout error, as a silent device would after the
// driver's deadline. It implements transport.Conn.
type Script struct {
	mu      sync.Mutex
	steps   []Step
	pending []byte // request bytes written so far for the current step
	unread  bytes.Buffer
	err     error
	stream  bool // accept any request (Stream)
}

// NewScript plays c's steps.
func NewScript(c Case) *Script { return &Script{steps: append([]Step(nil), c.Steps...)} }

// Write checks bytes against the next expected request.
func (s *Script) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream {
		return len(p), nil
	}
	for _, b := range p {
		if len(s.steps) == 0 {
			s.fail("driver sent % X after the transcript ended", p)
			return 0, s.err
		}
		st := s.steps[0]
		s.pending = append(s.pending, b)
		if !bytes.HasPrefix(st.Request, s.pending) {
			s.fail("driver sent % X, transcript expects % X", s.pending, st.Request)
			return 0, s.err
		}
		if len(s.pending) == len(st.Request) {
			s.unread.Write(st.Response)
			s.steps = s.steps[1:]
			s.pending = nil
		}
	}
	return len(p), nil
}

func (s *Script) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("transcript: "+format, args...)
	}
}

// Read hands back answered bytes, or a timeout when there are none.
func (s *Script) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unread.Len() == 0 {
		return 0, timeoutError{}
	}
	return s.unread.Read(p)
}

// Err reports a request that did not match the transcript.
func (s *Script) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Left returns how many scripted requests the driver never sent.
func (s *Script) Left() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.steps)
}

// Next returns the first scripted request the driver has not sent yet.
func (s *Script) Next() (Step, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.steps) == 0 {
		return Step{}, false
	}
	return s.steps[0], true
}

// SetDeadline is accepted and ignored: the script never blocks.
func (s *Script) SetDeadline(time.Time) error { return nil }

// Close does nothing.
func (s *Script) Close() error { return nil }

// timeoutError matches os.ErrDeadlineExceeded, as a real read timeout does.
type timeoutError struct{}

func (timeoutError) Error() string   { return "transcript: no answer (timeout)" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Is(e error) bool { return e == os.ErrDeadlineExceeded }

// Stream is a device that ignores what it is sent and hands back fixed bytes,
// then times out: fuzz tests feed a driver arbitrary answers through it.
func Stream(answers []byte) *Script {
	s := &Script{}
	s.unread.Write(answers)
	s.stream = true
	return s
}
