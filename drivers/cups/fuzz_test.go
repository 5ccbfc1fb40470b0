package cups

import (
	"bytes"
	"errors"
	"testing"
)

// sample is a Get-Printer-Attributes response as CUPS 2.4 sends it, cut to
// the attributes the driver reads.
func sample(t testing.TB) []byte {
	m := Message{Version: [2]byte{2, 0}, Code: 0, RequestID: 7, Groups: []Group{
		{Tag: tagOperation, Attrs: []Attribute{
			{Name: "attributes-charset", Values: []Value{{Tag: TagCharset, Text: "utf-8"}}},
			{Name: "status-message", Values: []Value{{Tag: TagText, Text: "successful-ok"}}},
		}},
		{Tag: tagPrinter, Attrs: []Attribute{
			{Name: "printer-state", Values: []Value{{Tag: TagEnum, Int: 5}}},
			{Name: "printer-state-reasons", Values: []Value{{Tag: TagKeyword, Text: "paused"}, {Tag: TagKeyword, Text: "media-low-report"}}},
			{Name: "printer-is-accepting-jobs", Values: []Value{{Tag: TagBoolean, Int: 1}}},
			{Name: "marker-levels", Values: []Value{{Tag: TagInteger, Int: 15}, {Tag: TagInteger, Int: -1}}},
			{Name: "printer-up-time", Values: []Value{{Tag: TagInteger, Int: 1796000000}}},
			{Name: "printer-make-and-model", Values: []Value{{Tag: TagText, Text: "EPSON TM-T88VI"}}},
		}},
	}}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRoundTrip(t *testing.T) {
	m, err := Decode(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.RequestID != 7 || m.Get(tagPrinter, "printer-state").Int(0) != 5 ||
		len(m.Get(tagPrinter, "printer-state-reasons").Texts()) != 2 ||
		m.Get(tagPrinter, "marker-levels").Ints()[1] != -1 || m.Get(tagPrinter, "printer-is-accepting-jobs").Int(0) != 1 {
		t.Errorf("decoded: %+v", m)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := sample(t)
	cases := map[string][]byte{
		"empty":              nil,
		"short":              good[:8],
		"no end tag":         good[:len(good)-1],
		"version 9":          append([]byte{9, 0}, good[2:]...),
		"value cut off":      good[:40],
		"attribute first":    append(append([]byte{}, good[:8]...), 0x21, 0, 1, 'x', 0, 4, 0, 0, 0, 1, 3),
		"integer of 3 bytes": append(append([]byte{}, good[:8]...), 0x04, 0x21, 0, 1, 'x', 0, 3, 0, 0, 1, 3),
		"boolean 2":          append(append([]byte{}, good[:8]...), 0x04, 0x22, 0, 1, 'x', 0, 1, 2, 3),
		"extension tag":      append(append([]byte{}, good[:8]...), 0x04, 0x7F, 0, 0, 0, 0, 3),
		"orphan value":       append(append([]byte{}, good[:8]...), 0x04, 0x44, 0, 0, 0, 1, 'a', 3),
	}
	for name, b := range cases {
		if _, err := Decode(b); !errors.Is(err, ErrIPP) {
			t.Errorf("%s: err = %v, want ErrIPP", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(sample(f))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 1, 3})
	f.Add([]byte{1, 1, 0, 0x0A, 0, 0, 0, 1, 1, 0x35, 0, 1, 'n', 0, 6, 0, 2, 'e', 'n', 0, 0, 3})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 1, 4, 0x31, 0, 1, 'd', 0, 11, 7, 234, 12, 6, 20, 0, 0, 0, '+', 1, 0, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes encodes again and decodes to the same values.
		again, err := m.Encode()
		if err != nil {
			return // a value too long to re-encode cannot come from a decode; nothing more to check
		}
		m2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		b2, _ := m2.Encode()
		if !bytes.Equal(again, b2) {
			t.Fatalf("encode/decode not stable:\n% x\n% x", again, b2)
		}
	})
}
