package transcript

import (
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Step is one request and the device's answer.
type Step struct {
	Request  []byte
	Response []byte
	Silent   bool // "< silence": no answer at all
}

// Case is one scripted conversation and what the test should find.
type Case struct {
	Name   string
	File   string
	Line   int
	Steps  []Step
	Expect map[string]string // key: value of the "!" lines
	// Defaults are the file's "defaults" exchanges: a Replay answers them
	// every time they are asked, after the case's own.
	Defaults []Step
}

// String names the case for test output: file:line name.
func (c Case) String() string { return fmt.Sprintf("%s:%d %s", c.File, c.Line, c.Name) }

// Load reads a transcript file or fails the test.
func Load(t testing.TB, path string) []Case {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Parse(path, data)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// Parse reads transcript text; file names it in errors and in Case.String.
func Parse(file string, data []byte) ([]Case, error) {
	var (
		out      []Case
		defaults []Step
		cur      *Case
	)
	flush := func() {
		switch {
		case cur == nil:
		case cur.Name == "defaults":
			defaults = cur.Steps
		default:
			out = append(out, *cur)
		}
		cur = nil
	}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, ok := strings.CutPrefix(line, "==="); ok {
			flush()
			cur = &Case{Name: strings.TrimSpace(name), File: file, Line: n, Expect: map[string]string{}}
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: %q before the first \"=== name\"", file, n, line)
		}
		kind, rest := line[0], strings.TrimSpace(line[1:])
		switch kind {
		case '>':
			b, err := Bytes(rest)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, n, err)
			}
			cur.Steps = append(cur.Steps, Step{Request: b})
		case '<':
			if len(cur.Steps) == 0 {
				return nil, fmt.Errorf("%s:%d: an answer (<) needs a request (>) before it", file, n)
			}
			st := &cur.Steps[len(cur.Steps)-1]
			if rest == "silence" {
				st.Silent = true
				continue
			}
			b, err := Bytes(rest)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, n, err)
			}
			st.Response = append(st.Response, b...)
		case '!':
			k, v, _ := strings.Cut(rest, " ")
			if _, dup := cur.Expect[k]; dup {
				return nil, fmt.Errorf("%s:%d: ! %s given twice", file, n, k)
			}
			cur.Expect[k] = strings.TrimSpace(v)
		default:
			return nil, fmt.Errorf("%s:%d: want >, <, ! or # at the start of %q", file, n, line)
		}
	}
	flush()
	for i := range out {
		out[i].Defaults = defaults
	}
	return out, nil
}

// Bytes reads hex pairs and Go-quoted strings, separated by spaces.
func Bytes(s string) ([]byte, error) {
	var out []byte
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, fmt.Errorf("bad quoted string in %q: %v", s, err)
			}
			u, _ := strconv.Unquote(q)
			out = append(out, u...)
			s = s[len(q):]
			continue
		}
		tok, rest, _ := strings.Cut(s, " ")
		b, err := hex.DecodeString(tok)
		if err != nil {
			return nil, fmt.Errorf("bad hex %q: %v", tok, err)
		}
		out = append(out, b...)
		s = rest
	}
	return out, nil
}

// Responses returns every answer of the cases (their defaults included)
// one by one: seeds for fuzzing a frame parser.
func Responses(cases []Case) [][]byte {
	var out [][]byte
	for _, c := range cases {
		for _, st := range slices.Concat(c.Steps, c.Defaults) {
			if len(st.Response) > 0 {
				out = append(out, st.Response)
			}
		}
	}
	return out
}

// Conversations returns each case's answers joined: seeds for fuzzing a
// whole probe, which reads them one after the other.
func Conversations(cases []Case) [][]byte {
	var out [][]byte
	for _, c := range cases {
		var b []byte
		for _, st := range c.Steps {
			b = append(b, st.Response...)
		}
		out = append(out, b)
	}
	return out
}
