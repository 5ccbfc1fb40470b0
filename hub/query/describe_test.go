package query

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/wire"
)

func lines(d Description) string {
	var b strings.Builder
	for _, l := range d.Lines {
		b.WriteString(l.Label + ": " + l.Value + "\n")
	}
	return b.String()
}

func TestDescribeAnswers(t *testing.T) {
	status := Answer{Device: "receipt-1", Op: wire.OpStatus, OK: true, RoundTripMS: 41, DeviceMS: 12, Result: json.RawMessage(
		`{"state":"fault","faults":[{"code":"paper_out","severity":"error","remedy":"store","detail":"DLE EOT 4 bit 5"}],` +
			`"identity":{"vendor":"EPSON","model":"TM-T88V","serial":"X5E1234567","firmware":"1.28"},"measurements":{"rtt_ms":3},"took_ms":12}`)}
	d := Describe(status)
	want := "State: fault\nFault: paper_out (error, remedy: store): the paper or media has run out [DLE EOT 4 bit 5]\n" +
		"Vendor: EPSON\nModel: TM-T88V\nSerial: X5E1234567\nFirmware: 1.28\nRound trip: 3 ms\nAnswered in: 41 ms (the device took 12 ms)\n"
	if d.Headline != "receipt-1 is fault" || lines(d) != want {
		t.Errorf("status:\n%s\n%s\nwant\n%s", d.Headline, lines(d), want)
	}
	d = Describe(Answer{Device: "receipt-1", Op: wire.OpIdentify, OK: true, Result: json.RawMessage(`{"vendor":"EPSON","model":"TM-T88V","extra":{"font":"ANK"}}`)})
	if d.Headline != "receipt-1 says it is EPSON TM-T88V" || lines(d) != "Vendor: EPSON\nModel: TM-T88V\nfont: ANK\n" {
		t.Errorf("identify: %s\n%s", d.Headline, lines(d))
	}
	d = Describe(Answer{Device: "receipt-1", Op: wire.OpOperations, OK: true, Result: json.RawMessage(`{"operations":["counters","status"]}`)})
	if d.Headline != "receipt-1 allows counters, status" {
		t.Errorf("operations: %s", d.Headline)
	}
	// A result of another shape is shown, not dropped.
	d = Describe(Answer{Device: "receipt-1", Op: wire.OpStatus, OK: true, Result: json.RawMessage(`{"state":"ok","new_field":1}`)})
	if d.Headline != "receipt-1 answered status" || !strings.Contains(lines(d), `"new_field": 1`) {
		t.Errorf("unknown shape: %s\n%s", d.Headline, lines(d))
	}
	// A busy device: who holds it is the headline, and a line of its own.
	d = Describe(Answer{Device: "scale-3", Op: wire.OpStatus, Code: "device_busy", Error: "the device is busy (/dev/ttyS1 in use by POS.exe (pid 4312) (lock file /var/lock/LCK..ttyS1)); try again in a moment",
		Holder: &wire.Holder{Process: "POS.exe", PID: 4312}})
	if d.OK || d.Headline != "scale-3 is busy: in use by POS.exe (pid 4312)" || !strings.HasPrefix(lines(d), "In use by: POS.exe (pid 4312)\nDetail: the device is busy (") {
		t.Errorf("busy: %s\n%s", d.Headline, lines(d))
	}
	d = Describe(Answer{Device: "receipt-1", Op: wire.OpStatus, Code: CodeOffline, Error: "agent backoffice-1 of store s0042 offline since 10:42 (Europe/Berlin)"})
	if d.OK || d.Headline != "agent backoffice-1 of store s0042 offline since 10:42 (Europe/Berlin)" || len(d.Lines) != 0 {
		t.Errorf("failure: %+v", d)
	}
}

// Measurements read with labels and units, not as the drivers' keys.
func TestMeasurementLines(t *testing.T) {
	for _, c := range []struct {
		key         string
		v           float64
		label, text string
	}{
		{"disk_free_percent:/var", 41.5, "Free disk space (/var)", "41.5 %"},
		{`disk_free_percent:C:\`, 12, `Free disk space (C:\)`, "12 %"},
		{"memory_available_percent", 63.2, "Available memory", "63.2 %"},
		{"rtt_ms", 3, "Round trip", "3 ms"},
		{"uptime_s", 93784, "Running for", "26h3m0s"},
		{"weight_kg", 1.25, "Weight", "1.25 kg"},
		{"weight_stable", 1, "Weight stable", "yes"},
		{"supply_percent:black toner", 5, "Supply left (black toner)", "5 %"},
		{"some_new_thing", 7, "some new thing", "7"},
	} {
		if l := MeasurementLine(c.key, c.v); l.Label != c.label || l.Value != c.text {
			t.Errorf("%s %v: %q %q, want %q %q", c.key, c.v, l.Label, l.Value, c.label, c.text)
		}
	}
}
