package snmpprinter

import (
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// agentCase is one case of testdata/agents.txt.
type agentCase struct {
	name    string
	objects map[string]gosnmp.SnmpPDU
	expect  map[string]string
}

// loadAgents reads testdata/agents.txt; every case starts from "base".
func loadAgents(t testing.TB) []agentCase {
	t.Helper()
	data, err := os.ReadFile("testdata/agents.txt")
	if err != nil {
		t.Fatal(err)
	}
	var (
		out  []agentCase
		base map[string]gosnmp.SnmpPDU
	)
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if name, ok := strings.CutPrefix(line, "==="); ok {
			c := agentCase{name: strings.TrimSpace(name), objects: map[string]gosnmp.SnmpPDU{}, expect: map[string]string{}}
			for k, v := range base {
				c.objects[k] = v
			}
			out = append(out, c)
			continue
		}
		c := &out[len(out)-1]
		switch {
		case line[0] == '!':
			k, v, _ := strings.Cut(strings.TrimSpace(line[1:]), " ")
			c.expect[k] = strings.TrimSpace(v)
		case line[0] == '-':
			delete(c.objects, strings.TrimSpace(line[1:]))
		default:
			p, err := parsePDU(line)
			if err != nil {
				t.Fatalf("testdata/agents.txt line %d: %v", n+1, err)
			}
			c.objects[p.Name] = p
		}
		if c.name == "base" {
			base = c.objects
		}
	}
	return out
}

func parsePDU(line string) (gosnmp.SnmpPDU, error) {
	f := strings.SplitN(line, " ", 3)
	for len(f) < 3 {
		f = append(f, "")
	}
	p := gosnmp.SnmpPDU{Name: f[0]}
	switch f[1] {
	case "integer":
		n, err := strconv.Atoi(f[2])
		p.Type, p.Value = gosnmp.Integer, n
		return p, err
	case "counter":
		n, err := strconv.ParseUint(f[2], 10, 32)
		p.Type, p.Value = gosnmp.Counter32, uint(n)
		return p, err
	case "string":
		p.Type, p.Value = gosnmp.OctetString, []byte(f[2])
	case "octet":
		b, err := hex.DecodeString(strings.ReplaceAll(f[2], " ", ""))
		p.Type, p.Value = gosnmp.OctetString, b
		return p, err
	case "objectid":
		p.Type, p.Value = gosnmp.ObjectIdentifier, f[2]
	default:
		return p, fmt.Errorf("unknown type %q", f[1])
	}
	return p, nil
}

// fakeAgent answers Get and Walk from a table, as an agent would; while
// fail is set every request fails with it (an agent that stopped answering).
type fakeAgent struct {
	objects map[string]gosnmp.SnmpPDU
	gets    int
	walks   []string
	fail    error
}

func (a *fakeAgent) Get(oids []string) ([]gosnmp.SnmpPDU, error) {
	a.gets++
	if a.fail != nil {
		return nil, a.fail
	}
	var out []gosnmp.SnmpPDU
	for _, o := range oids {
		p, ok := a.objects[o]
		if !ok {
			p = gosnmp.SnmpPDU{Name: o, Type: gosnmp.NoSuchObject}
		}
		out = append(out, p)
	}
	return out, nil
}

func (a *fakeAgent) Walk(root string) ([]gosnmp.SnmpPDU, error) {
	a.walks = append(a.walks, root)
	if a.fail != nil {
		return nil, a.fail
	}
	var out []gosnmp.SnmpPDU
	for name, p := range a.objects {
		if _, ok := under(name, root); ok {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return compareOID(out[i].Name, out[j].Name) < 0 })
	return out, nil
}

func (a *fakeAgent) Close() error { return nil }
