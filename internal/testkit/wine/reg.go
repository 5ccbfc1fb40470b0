//go:build unix

package wine

import (
	"strings"
	"testing"
)

// RegValue is one registry value as reg.exe prints it.
type RegValue struct {
	Type string // REG_SZ, REG_DWORD, REG_MULTI_SZ, ...
	Data string // as printed: 0x2 for a DWORD, A\0B for a multi-string
}

// Reg reads the values of a registry key (HKLM\SYSTEM\...) with Wine's
// reg.exe. ok is false when the key does not exist.
func (p *Prefix) Reg(t testing.TB, key string) (values map[string]RegValue, ok bool) {
	t.Helper()
	r := p.Run(t, "reg.exe", "query", key)
	if r.Code != 0 {
		if strings.Contains(r.Stderr+r.Stdout, "Unable to find") {
			return nil, false
		}
		t.Fatalf("reg query %s: exit %d\n%s%s", key, r.Code, r.Stdout, r.Stderr)
	}
	return ParseRegQuery(r.Stdout), true
}

// RegTree reads a registry key and every key below it (reg.exe query /s):
// the values of each key by its full name (HKEY_LOCAL_MACHINE\...).
func (p *Prefix) RegTree(t testing.TB, key string) map[string]map[string]RegValue {
	t.Helper()
	r := p.Run(t, "reg.exe", "query", key, "/s")
	if r.Code != 0 {
		t.Fatalf("reg query %s /s: exit %d\n%s%s", key, r.Code, r.Stdout, r.Stderr)
	}
	return ParseRegQueryTree(r.Stdout)
}

// ParseRegQuery reads the output of reg.exe query KEY (without /s): a line
// naming the key, then one indented line per value, its name, type and
// data separated by four spaces; the unnamed value is "(Default)".
func ParseRegQuery(out string) map[string]RegValue {
	for _, values := range ParseRegQueryTree(out) {
		return values
	}
	return map[string]RegValue{}
}

// ParseRegQueryTree reads the output of reg.exe query KEY /s: keys, each
// followed by its values as ParseRegQuery reads them.
func ParseRegQueryTree(out string) map[string]map[string]RegValue {
	tree := map[string]map[string]RegValue{}
	var values map[string]RegValue
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, "HKEY_") {
			values = map[string]RegValue{}
			tree[line] = values
			continue
		}
		rest, ok := strings.CutPrefix(line, "    ")
		if !ok || values == nil {
			continue
		}
		fields := strings.SplitN(rest, "    ", 3)
		if len(fields) < 2 || !strings.HasPrefix(fields[1], "REG_") {
			continue
		}
		v := RegValue{Type: fields[1]}
		if len(fields) == 3 {
			v.Data = fields[2]
		}
		values[fields[0]] = v
	}
	return tree
}
