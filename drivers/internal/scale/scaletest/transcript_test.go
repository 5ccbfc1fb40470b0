package scaletest

import (
	"bytes"
	"testing"
)

func TestBytes(t *testing.T) {
	for in, want := range map[string]string{
		`"S +" 0D 0A`:                "S +\r\n",
		`"I4 A \"B525073136\"" 0D0A`: "I4 A \"B525073136\"\r\n",
		`02 3F 61 0D`:                "\x02?a\r",
		`0A "0001.25lb" 0D 0A 30 30`: "\n0001.25lb\r\n00",
	} {
		got, err := Bytes(in)
		if err != nil || string(got) != want {
			t.Errorf("Bytes(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`"open`, `0G`, `123`, `"bad \q"`} {
		if got, err := Bytes(bad); err == nil {
			t.Errorf("Bytes(%s) = %q, want an error", bad, got)
		}
	}
}

func TestParse(t *testing.T) {
	cases, err := Parse("t", []byte(`
# comment
== defaults
-> "I4" 0D 0A
<- "I4 A \"X\"" 0D 0A

== one
-> "SI" 0D 0A
<- "S +"
<- 0D 0A
faults: scale_overload
weight_kg: 1.5
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 {
		t.Fatalf("%d cases, want 1 (defaults are not a case)", len(cases))
	}
	c := cases[0]
	if c.Name != "one" || len(c.Exchanges) != 1 || len(c.Defaults) != 1 || !bytes.Equal(c.Exchanges[0].Response, []byte("S +\r\n")) {
		t.Errorf("case %+v", c)
	}
	if v, _ := c.Get("weight_kg"); v != "1.5" || len(c.Keys) != 2 {
		t.Errorf("expectations %v", c.Expect)
	}
	for _, bad := range []string{
		"-> 0D",            // before a case
		"== x\n<- 0D",      // answer without request
		"== x\nfoo",        // not key: value
		"== x\na: 1\na: 2", // duplicate key
		"== x\n-> 0G",      // bad hex
	} {
		if _, err := Parse("t", []byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
