package zvt

// A small reader for the testdata transcripts ("=== name", "> sent",
// "< answered", "! key value"), the format internal/transcript documents,
// and a scripted line that plays one case.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

type step struct {
	request, response []byte
	silent            bool
}

type tcase struct {
	name   string
	steps  []step
	expect map[string]string
}

func loadTranscript(t *testing.T, path string) []tcase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := parseTranscript(string(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cases
}

func parseTranscript(text string) ([]tcase, error) {
	var out []tcase
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if name, ok := strings.CutPrefix(line, "==="); ok {
			out = append(out, tcase{name: strings.TrimSpace(name), expect: map[string]string{}})
			continue
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("line %d: before the first case", n+1)
		}
		c := &out[len(out)-1]
		kind, rest := line[0], strings.TrimSpace(line[1:])
		switch {
		case kind == '!':
			k, v, _ := strings.Cut(rest, " ")
			c.expect[k] = strings.TrimSpace(v)
		case kind == '<' && rest == "silence":
			c.steps[len(c.steps)-1].silent = true
		case kind == '<' || kind == '>':
			b, err := hexTokens(rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n+1, err)
			}
			if kind == '>' {
				c.steps = append(c.steps, step{request: b})
			} else if len(c.steps) == 0 {
				return nil, fmt.Errorf("line %d: answer before any request", n+1)
			} else {
				last := &c.steps[len(c.steps)-1]
				last.response = append(last.response, b...)
			}
		default:
			return nil, fmt.Errorf("line %d: %q", n+1, line)
		}
	}
	return out, nil
}

// hexTokens reads hex pairs and "quoted" strings.
func hexTokens(s string) ([]byte, error) {
	var out []byte
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, err
			}
			u, _ := strconv.Unquote(q)
			out, s = append(out, u...), s[len(q):]
			continue
		}
		tok, rest, _ := strings.Cut(s, " ")
		b, err := hex.DecodeString(tok)
		if err != nil {
			return nil, err
		}
		out, s = append(out, b...), rest
	}
	return out, nil
}

// script is a line that checks what the driver writes against the case and
// hands back the answers. A read with nothing to hand back is a timeout,
// as on a silent line.
type script struct {
	steps   []step
	pending []byte
	unread  bytes.Buffer
	err     error
}

type timeout struct{}

func (timeout) Error() string   { return "no answer (timeout)" }
func (timeout) Timeout() bool   { return true }
func (timeout) Is(e error) bool { return e == os.ErrDeadlineExceeded }

func (s *script) Write(p []byte) (int, error) {
	for _, b := range p {
		if len(s.steps) == 0 {
			s.err = fmt.Errorf("driver sent % X after the transcript ended", p)
			return 0, s.err
		}
		s.pending = append(s.pending, b)
		want := s.steps[0].request
		if !bytes.HasPrefix(want, s.pending) {
			s.err = fmt.Errorf("driver sent % X, transcript expects % X", s.pending, want)
			return 0, s.err
		}
		if len(s.pending) == len(want) {
			s.unread.Write(s.steps[0].response)
			s.steps, s.pending = s.steps[1:], nil
		}
	}
	return len(p), nil
}

func (s *script) Read(p []byte) (int, error) {
	if s.unread.Len() == 0 {
		return 0, timeout{}
	}
	return s.unread.Read(p)
}
