package query

import (
	"strings"
	"testing"

	"github.com/storewatch/storewatch/wire"
)

func TestParseBody(t *testing.T) {
	cases := []struct {
		body, op, err string
	}{
		{"", wire.OpStatus, ""},
		{"  \n", wire.OpStatus, ""},
		{`{}`, wire.OpStatus, ""},
		{`{"op":"identify"}`, wire.OpIdentify, ""},
		{`{"op":"operations","args":{}}`, wire.OpOperations, ""},
		{`{"op":"raw","args":{"hex":"10 04 01"}}`, wire.OpRaw, ""},
		{`{"op":"reboot"}`, "", `"reboot" is not one of`},
		{`{"op":"status","args":{"x":"1"}}`, "", "status takes no arguments"},
		{`{"op":"raw"}`, "", "args.hex: want 1 to 256 bytes"},
		{`{"op":"raw","args":{"hex":"zz"}}`, "", "args.hex"},
		{`{"op":"raw","args":{"hex":"10","cmd":"x"}}`, "", `raw takes only hex, not "cmd"`},
		{`{"op":"raw","args":{"hex":"` + strings.Repeat("00", 257) + `"}}`, "", "args.hex"},
		{`{"op":"status","device":"x"}`, "", "unknown field"},
		{`{"op":"status"} {}`, "", "trailing data"},
		{`[1]`, "", "body:"},
	}
	for _, c := range cases {
		b, err := ParseBody([]byte(c.body))
		switch {
		case c.err == "" && (err != nil || b.Op != c.op):
			t.Errorf("%s: %+v, %v; want op %s", c.body, b, err, c.op)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.body, err, c.err)
		}
	}
}

func FuzzParseBody(f *testing.F) {
	for _, s := range []string{"", `{"op":"status"}`, `{"op":"raw","args":{"hex":"10 04 01"}}`, `{"op":"identify","args":null}`, `{"op":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBody(data)
		if err != nil {
			return
		}
		if CheckRequest(b.Op, b.Args) != nil {
			t.Fatalf("accepted %q as %+v, which CheckRequest refuses", data, b)
		}
	})
}
