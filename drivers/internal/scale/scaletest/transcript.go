package scaletest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Exchange is one request and the device's answer.
type Exchange struct {
	Request  []byte
	Response []byte
}

// Case is one transcript case.
type Case struct {
	Name      string
	File      string
	Line      int
	Exchanges []Exchange
	// Defaults are the file's "defaults" exchanges: answered every time
	// they are asked, after the case's own.
	Defaults []Exchange
	Keys     []string          // expectation keys in file order
	Expect   map[string]string // key: value
}

// Get returns an expectation or setup value.
func (c Case) Get(key string) (string, bool) {
	v, ok := c.Expect[key]
	return v, ok
}

// String names the case for test output.
func (c Case) String() string { return fmt.Sprintf("%s:%d %s", c.File, c.Line, c.Name) }

// Load reads a transcript file.
func Load(path string) ([]Case, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse reads transcript text.
func Parse(file string, text []byte) ([]Case, error) {
	var (
		cases    []Case
		defaults []Exchange
		cur      *Case
	)
	flush := func() {
		if cur == nil {
			return
		}
		if cur.Name == "defaults" {
			defaults = cur.Exchanges
		} else {
			cases = append(cases, *cur)
		}
		cur = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "=="):
			flush()
			cur = &Case{Name: strings.TrimSpace(line[2:]), File: file, Line: n, Expect: map[string]string{}}
		case cur == nil:
			return nil, fmt.Errorf("%s:%d: %q before the first \"== name\" line", file, n, line)
		case strings.HasPrefix(line, "->"):
			b, err := Bytes(line[2:])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, n, err)
			}
			cur.Exchanges = append(cur.Exchanges, Exchange{Request: b})
		case strings.HasPrefix(line, "<-"):
			b, err := Bytes(line[2:])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, n, err)
			}
			if len(cur.Exchanges) == 0 {
				return nil, fmt.Errorf("%s:%d: an answer (<-) needs a request (->) before it", file, n)
			}
			last := &cur.Exchanges[len(cur.Exchanges)-1]
			last.Response = append(last.Response, b...)
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("%s:%d: want \"key: value\", \"-> bytes\" or \"<- bytes\", got %q", file, n, line)
			}
			k = strings.TrimSpace(k)
			if _, dup := cur.Expect[k]; dup {
				return nil, fmt.Errorf("%s:%d: %s given twice", file, n, k)
			}
			cur.Keys = append(cur.Keys, k)
			cur.Expect[k] = strings.TrimSpace(v)
		}
	}
	flush()
	for i := range cases {
		cases[i].Defaults = defaults
	}
	return cases, sc.Err()
}

// Bytes reads "hex and quoted ASCII" notation: `"S +" 0D 0A`.
func Bytes(s string) ([]byte, error) {
	var out []byte
	s = strings.TrimSpace(s)
	for s != "" {
		if s[0] == '"' {
			end := closingQuote(s)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string in %q", s)
			}
			str, err := strconv.Unquote(s[:end+1])
			if err != nil {
				return nil, fmt.Errorf("bad string %s: %v", s[:end+1], err)
			}
			out = append(out, str...)
			s = strings.TrimSpace(s[end+1:])
			continue
		}
		tok, rest, _ := strings.Cut(s, " ")
		b, err := hex.DecodeString(tok)
		if err != nil {
			return nil, fmt.Errorf("bad hex %q: %v", tok, err)
		}
		out = append(out, b...)
		s = strings.TrimSpace(rest)
	}
	return out, nil
}

func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// Responses returns every answer in the cases, to seed fuzz tests.
func Responses(cases []Case) [][]byte {
	var out [][]byte
	for _, c := range cases {
		for _, e := range append(c.Exchanges, c.Defaults...) {
			if len(e.Response) > 0 {
				out = append(out, e.Response)
			}
		}
	}
	return out
}
