package wire

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"testing"
)

// acceptedByEncodingJSON is how wire decoded before it used encoding/json/v2's
// prototype: encoding/json's Decoder with unknown fields disallowed, nothing
// after the object, then the version, type and contract checks.
func acceptedByEncodingJSON(ch Channel, data []byte) bool {
	m := newMessage(ch)
	if m == nil || len(data) > MaxPayload {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		return false
	}
	h := m.Head()
	return h.V == Version && h.Type == m.kind() && m.validate() == nil
}

// FuzzNoLooserThanEncodingJSON: the one-pass decoder must never accept a
// payload that encoding/json's strict decoder refused. (It may refuse more:
// names in another case, a name given twice, invalid UTF-8.)
func FuzzNoLooserThanEncodingJSON(f *testing.F) {
	seedChannels(f)
	f.Fuzz(func(t *testing.T, chIndex uint8, data []byte) {
		ch := channels[int(chIndex)%len(channels)]
		if _, err := DecodeChannel(ch, data); err == nil && !acceptedByEncodingJSON(ch, data) {
			t.Fatalf("accepted on %s what encoding/json refused: %q", ch, data)
		}
	})
}

// The stricter cases, each of which encoding/json accepted.
func TestDecodeIsStricterThanEncodingJSON(t *testing.T) {
	good, err := os.ReadFile("testdata/event.json")
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte { return bytes.Replace(good, []byte(old), []byte(new), 1) }
	for name, data := range map[string][]byte{
		"name in another case": replace(`"device":`, `"Device":`),
		"name given twice":     replace(`"device":"receipt-lane3"`, `"device":"receipt-lane3","device":"receipt-lane4"`),
		"invalid UTF-8":        replace(`paper end sensor`, "paper \xff sensor"),
	} {
		t.Run(name, func(t *testing.T) {
			if !acceptedByEncodingJSON(ChannelEvents, data) {
				t.Fatalf("encoding/json refuses it too; the case tests nothing")
			}
			if _, err := DecodeChannel(ChannelEvents, data); err == nil {
				t.Error("accepted")
			}
		})
	}
}
