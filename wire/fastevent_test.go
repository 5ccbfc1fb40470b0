package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// strictEvent is the strict decoder alone, as decodeInto runs it when the
// fast path gives up.
func strictEvent(data []byte) (Event, error) {
	var m Event
	err := jsonv2.Unmarshal(data, &m, jsonv2.RejectUnknownMembers(true))
	return m, err
}

// TestEventFastPathTakesWhatAgentsWrite: every golden event, and events
// as the agent encodes them (with measurements, a holder, extra identity),
// take the fast path, with the strict decoder's result.
func TestEventFastPathTakesWhatAgentsWrite(t *testing.T) {
	var payloads [][]byte
	files, _ := filepath.Glob("testdata/event*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, data)
	}
	if len(payloads) < 3 {
		t.Fatalf("only %d golden events", len(payloads))
	}
	ev, err := Decode[Event](payloads[0])
	if err != nil {
		t.Fatal(err)
	}
	ev.Measurements = map[string]float64{"rtt_ms": 1.25, "paper_m": 1e-7, "big": 3e21}
	ev.Holder = &Holder{Process: "POS.exe", PID: 4312}
	ev.Identity.Extra = map[string]string{"port": "COM3", "ünï": "cödé"}
	ev.Faults = append(ev.Faults, NewFault(FaultPaperLow, ""))
	enc, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	payloads = append(payloads, enc, []byte(" \n\t"+string(enc)+"\r\n "))
	for i, data := range payloads {
		var fast Event
		if !decodeEventFast(bytes.TrimSpace(data), &fast) {
			t.Errorf("payload %d did not take the fast path: %s", i, data)
			continue
		}
		strict, err := strictEvent(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Errorf("payload %d: fast path %+v, strict decoder %+v", i, fast, strict)
		}
	}
}

// TestEventFastPathGivesUp: what the fast path does not take goes to the
// strict decoder, whose answer stands (the cases it refuses are refused
// with the same error as before).
func TestEventFastPathGivesUp(t *testing.T) {
	good, err := os.ReadFile("testdata/event.json")
	if err != nil {
		t.Fatal(err)
	}
	good = bytes.TrimSpace(good)
	replace := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("%q is not in the golden event", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	cases := map[string][]byte{
		"unknown member":       replace(`"reason":`, `"cause":`),
		"name in another case": replace(`"device":`, `"Device":`),
		"repeated member":      replace(`"device":"receipt-lane3"`, `"device":"receipt-lane3","device":"x"`),
		"repeated fault field": replace(`"code":"paper_out"`, `"code":"paper_out","code":"paper_out"`),
		"escaped string":       replace(`paper end sensor`, `paper \"end\" sensor`),
		"escaped name":         replace(`"reason":`, `"reas\u006fn":`),
		"control character":    replace(`paper end sensor`, "paper\tend"),
		"invalid UTF-8":        replace(`paper end sensor`, "paper \xff sensor"),
		"null":                 replace(`"reason":"paper end sensor"`, `"reason":null`),
		"empty faults":         replace(`"faults":[{"code":"paper_out","severity":"error","remedy":"store","detail":"DLE EOT 4 = 0x72 (bits 5,6)"}]`, `"faults":[]`),
		"time with offset":     replace(`"since":"2026-11-22T09:14:02Z"`, `"since":"2026-11-22T10:14:02+01:00"`),
		"time with comma":      replace(`"since":"2026-11-22T09:14:02Z"`, `"since":"2026-11-22T09:14:02,5Z"`),
		"one-digit hour":       replace(`"since":"2026-11-22T09:14:02Z"`, `"since":"2026-11-22T9:14:02Z"`),
		"not a time":           replace(`"since":"2026-11-22T09:14:02Z"`, `"since":"yesterday, at noon!!"`),
		"version as float":     replace(`"v":1`, `"v":1.0`),
		"version as string":    replace(`"v":1`, `"v":"1"`),
		"leading zero":         replace(`"seq":1187`, `"seq":01187`),
		"negative seq":         replace(`"seq":1187`, `"seq":-1187`),
		"huge seq":             replace(`"seq":1187`, `"seq":123456789012345678901234567890`),
		"unknown severity":     replace(`"severity":"error"`, `"severity":"dire"`),
		"trailing data":        append(bytes.Clone(good), `{}`...),
		"trailing comma":       replace(`"firmware":"30.01"}`, `"firmware":"30.01",}`),
		"truncated":            good[:len(good)-1],
		"array":                []byte(`[` + string(good) + `]`),
		"empty object":         []byte(`{}`),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var fast Event
			if decodeEventFast(data, &fast) {
				t.Fatalf("the fast path took %s", data)
			}
			_, strictErr := strictEvent(data)
			_, err := Decode[Event](data)
			if strictErr != nil && err == nil {
				t.Fatalf("Decode accepted what the strict decoder refuses (%v)", strictErr)
			}
		})
	}
	// The fast path's refusals above include cases the strict decoder
	// accepts (an offset, an escape): they must still decode.
	for _, name := range []string{"escaped string", "escaped name", "time with offset"} {
		if _, err := Decode[Event](cases[name]); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzEventFastPath: whatever the fast path accepts, the strict decoder
// accepts with the same Event; so Decode's answers are the strict
// decoder's, whichever path gives them.
func FuzzEventFastPath(f *testing.F) {
	for _, data := range goldenPayloads(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"v":1,"measurements":{"a":-0.5e-3,"b":0,"c":1E+2},"holder":{"pid":-0,"process":"é"},"identity":{"extra":{"k":"v"}}}`))
	f.Add([]byte(`{"v":-0,"seq":18446744073709551615,"time":"2026-11-22T09:14:07.123456789Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast Event
		if !decodeEventFast(data, &fast) {
			return
		}
		strict, err := strictEvent(data)
		if err != nil {
			t.Fatalf("fast path took what the strict decoder refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("%q: fast path %+v, strict decoder %+v", data, fast, strict)
		}
	})
}

// BenchmarkDecodeEventStrict is BenchmarkDecodeEvent without the fast path
// (the strict decoder alone, then the checks), to compare the two:
//
//	go test ./wire -run '^$' -bench 'DecodeEvent(Strict)?$' -benchtime 200000x
func BenchmarkDecodeEventStrict(b *testing.B) {
	benchDecodeEvent(b, func(data []byte) error {
		m, err := strictEvent(data)
		if err != nil {
			return err
		}
		return m.validate()
	})
}
