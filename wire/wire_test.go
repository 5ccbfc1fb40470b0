package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTopicRoundTrip(t *testing.T) {
	id := AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice-1"}
	for _, ch := range channels {
		topic := id.Topic(ch)
		gotID, gotCh, err := ParseTopic(topic)
		if err != nil {
			t.Fatalf("ParseTopic(%q): %v", topic, err)
		}
		if gotID != id || gotCh != ch {
			t.Errorf("ParseTopic(%q) = %v %v, want %v %v", topic, gotID, gotCh, id, ch)
		}
	}
}

func TestParseTopicRejects(t *testing.T) {
	for _, topic := range []string{
		"",
		"storewatch/v2/acme/s1/a1/events",
		"storewatch/v1/acme/s1/events",
		"storewatch/v1/acme/s1/a1/unknown",
		"storewatch/v1/acme/+/a1/events",
		"storewatch/v1/acme/s1/a1/cmd/other",
		"storewatch/v1//s1/a1/events",
		"storewatch/v1/acme/s 1/a1/events",
	} {
		if _, _, err := ParseTopic(topic); err == nil {
			t.Errorf("ParseTopic(%q) accepted a bad topic", topic)
		}
	}
}

func TestGoldenMessagesDecode(t *testing.T) {
	cases := map[string]Channel{
		"status.json": ChannelStatus, "inventory.json": ChannelInventory, "event.json": ChannelEvents,
		"metrics.json": ChannelMetrics, "cmd_req.json": ChannelCmdReq, "cmd_res.json": ChannelCmdRes,
		"event_busy.json": ChannelEvents, "event_busy_too_long.json": ChannelEvents, "config.json": ChannelConfig,
		"config_discovery.json": ChannelConfig, "cmd_req_resend.json": ChannelCmdReq, "cmd_res_resend.json": ChannelCmdRes,
	}
	for file, ch := range cases {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := DecodeChannel(ch, data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			// Re-encoding and decoding again must give the same message.
			again, err := Encode(m)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if _, err := DecodeChannel(ch, again); err != nil {
				t.Fatalf("decode of re-encoded: %v\n%s", err, again)
			}
		})
	}
}

func TestDecodeEventFields(t *testing.T) {
	data, _ := os.ReadFile("testdata/event.json")
	ev, err := Decode[Event](data)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 1187 || ev.Device != "receipt-lane3" || ev.State != StateFault || len(ev.Faults) != 1 ||
		ev.Faults[0].Code != FaultPaperOut || ev.Faults[0].Severity != SeverityError || ev.Identity.Serial != "X5E1234567" {
		t.Errorf("decoded event is wrong: %+v", ev)
	}
}

// A device the POS application holds is busy: the event names the holder
// and carries no faults, because none could be read.
func TestBusyEvents(t *testing.T) {
	data, _ := os.ReadFile("testdata/event_busy.json")
	ev, err := Decode[Event](data)
	if err != nil {
		t.Fatal(err)
	}
	if ev.State != StateBusy || ev.Holder == nil || ev.Holder.Process != "POS.exe" || ev.Holder.PID != 4312 {
		t.Fatalf("busy event decoded wrong: %+v", ev)
	}
	if got := ev.Holder.String(); got != "in use by POS.exe (pid 4312)" {
		t.Errorf("holder reads %q", got)
	}
	withFault := strings.Replace(string(data), `"holder":`, `"faults":[{"code":"paper_out","severity":"error","remedy":"store"}],"holder":`, 1)
	if _, err := Decode[Event]([]byte(withFault)); !errors.Is(err, ErrInvalid) {
		t.Errorf("a busy event with faults: %v, want ErrInvalid", err)
	}
	long, _ := os.ReadFile("testdata/event_busy_too_long.json")
	ev, err = Decode[Event](long)
	if err != nil {
		t.Fatal(err)
	}
	if ev.State != StateFault || ev.Faults[0].Code != FaultBusyTooLong || ev.Previous != StateBusy {
		t.Errorf("busy_too_long event decoded wrong: %+v", ev)
	}
	// Events from agents that know nothing of busy decode as before.
	old, _ := os.ReadFile("testdata/event.json")
	if ev, err := Decode[Event](old); err != nil || ev.Holder != nil {
		t.Errorf("an event without holder: %+v, %v", ev, err)
	}
	for _, c := range []struct {
		h    *Holder
		want string
	}{
		{nil, "in use by another program"},
		{&Holder{}, "in use by another program"},
		{&Holder{PID: 7}, "in use by pid 7"},
		{&Holder{Process: "java"}, "in use by java"},
	} {
		if got := c.h.String(); got != c.want {
			t.Errorf("%+v reads %q, want %q", c.h, got, c.want)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := os.ReadFile("testdata/event.json")
	mutate := func(old, new string) []byte {
		if !strings.Contains(string(good), old) {
			t.Fatalf("golden event has no %q", old)
		}
		return []byte(strings.Replace(string(good), old, new, 1))
	}
	cases := []struct {
		name  string
		data  []byte
		kind  error
		field string
	}{
		{"empty", nil, ErrMalformed, ""},
		{"not json", []byte("\x00\xffgarbage"), ErrMalformed, ""},
		{"array", []byte(`[1,2]`), ErrMalformed, ""},
		{"no version", mutate(`"v":1,`, ``), ErrMalformed, ""},
		{"future version", mutate(`"v":1`, `"v":2`), ErrUnsupportedVersion, ""},
		{"version as string", mutate(`"v":1`, `"v":"1"`), ErrMalformed, ""},
		{"other type", mutate(`"type":"event"`, `"type":"metrics"`), ErrWrongType, ""},
		{"unknown field", mutate(`"device":`, `"colour":"red","device":`), ErrMalformed, ""},
		{"trailing data", append(append([]byte{}, good...), []byte(`{}`)...), ErrMalformed, ""},
		{"seq as string", mutate(`"seq":1187`, `"seq":"1187"`), ErrMalformed, ""},
		{"no seq", mutate(`"seq":1187,`, ``), ErrInvalid, "seq"},
		{"no boot", mutate(`"boot":"01J9Z7K1XQ",`, ``), ErrInvalid, "boot"},
		{"wildcard store", mutate(`"store":"s0042"`, `"store":"s+"`), ErrInvalid, "store"},
		{"unknown state", mutate(`"state":"fault"`, `"state":"broken"`), ErrInvalid, "state"},
		{"unknown fault", mutate(`"code":"paper_out"`, `"code":"on_fire"`), ErrInvalid, "faults[0].code"},
		{"unknown severity", mutate(`"severity":"error"`, `"severity":"dire"`), ErrMalformed, ""},
		{"state contradicts faults", mutate(`"state":"fault"`, `"state":"ok"`), ErrInvalid, "state"},
		{"too large", append([]byte(`{"v":1,"pad":"`), make([]byte, MaxPayload)...), ErrTooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode[Event](c.data)
			if !errors.Is(err, c.kind) {
				t.Fatalf("err = %v, want kind %v", err, c.kind)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err is %T, want *DecodeError", err)
			}
			if de.Field != c.field {
				t.Errorf("field = %q, want %q (%v)", de.Field, c.field, err)
			}
		})
	}
}

func TestEncodeStampsVersionAndType(t *testing.T) {
	m := &Status{Header: Header{AgentID: AgentID{"t", "s", "a"}, Boot: "b1", Time: time.Unix(0, 0).UTC()}, State: PresenceOffline}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"v":1,"type":"status"`) {
		t.Errorf("encoded status lacks version and type: %s", b)
	}
	if _, err := Encode(&Status{Header: m.Header, State: "maybe"}); err == nil {
		t.Error("Encode accepted an invalid status")
	}
}

func TestSigningBytesLeaveSignatureOut(t *testing.T) {
	data, _ := os.ReadFile("testdata/cmd_req.json")
	req, err := Decode[CommandRequest](data)
	if err != nil {
		t.Fatal(err)
	}
	a := req.SigningBytes()
	req.Signature = []byte("another signature")
	if string(a) != string(req.SigningBytes()) {
		t.Error("signing bytes depend on the signature")
	}
	req.Op = "identify"
	if string(a) == string(req.SigningBytes()) {
		t.Error("signing bytes do not cover the op")
	}
}

func TestVocabularyIsComplete(t *testing.T) {
	for _, f := range Vocabulary() {
		if f.Severity < SeverityInfo || f.Severity > SeverityCritical {
			t.Errorf("%s: bad severity %v", f.Code, f.Severity)
		}
		if f.Remedy != RemedyStore && f.Remedy != RemedyRemote && f.Remedy != RemedyDispatch {
			t.Errorf("%s: bad remedy %q", f.Code, f.Remedy)
		}
		if f.Meaning == "" {
			t.Errorf("%s: no meaning", f.Code)
		}
	}
}

func TestStateOf(t *testing.T) {
	cases := []struct {
		codes []FaultCode
		want  HealthState
	}{
		{nil, StateOK},
		{[]FaultCode{FaultDrawerOpen}, StateOK},
		{[]FaultCode{FaultPaperLow}, StateDegraded},
		{[]FaultCode{FaultPaperLow, FaultCoverOpen}, StateFault},
		{[]FaultCode{FaultUnrecoverableError}, StateFault},
		{[]FaultCode{FaultPaperOut, FaultNoResponse}, StateUnreachable},
		{[]FaultCode{FaultUnreachable}, StateUnreachable},
	}
	for _, c := range cases {
		var fs []Fault
		for _, code := range c.codes {
			fs = append(fs, NewFault(code, ""))
		}
		if got := StateOf(fs); got != c.want {
			t.Errorf("StateOf(%v) = %s, want %s", c.codes, got, c.want)
		}
	}
}

func TestTradingHours(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseTradingHours(map[string]string{"mon-fri": "08:00-20:00", "sat": "09:00-02:00", "sun": "closed"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// 2026-11-23 is a Monday.
	cases := []struct {
		t     string
		open  bool
		since string
	}{
		{"2026-11-23 07:59", false, ""},
		{"2026-11-23 08:00", true, "2026-11-23 08:00"},
		{"2026-11-23 19:59", true, "2026-11-23 08:00"},
		{"2026-11-23 20:00", false, ""},
		{"2026-11-28 23:30", true, "2026-11-28 09:00"}, // Saturday late opening
		{"2026-11-29 01:30", true, "2026-11-28 09:00"}, // past midnight into Sunday
		{"2026-11-29 02:00", false, ""},
		{"2026-11-29 12:00", false, ""}, // Sunday closed
	}
	for _, c := range cases {
		since, open := h.OpenSince(at(c.t), berlin)
		if open != c.open {
			t.Errorf("%s: open = %v, want %v", c.t, open, c.open)
			continue
		}
		if c.open && !since.Equal(at(c.since)) {
			t.Errorf("%s: open since %v, want %s", c.t, since.In(berlin), c.since)
		}
	}
	if _, open := TradingHours(nil).OpenSince(at("2026-11-29 03:00"), berlin); !open {
		t.Error("a store without hours must count as always open")
	}
	always, _ := ParseTradingHours(map[string]string{"mon-sun": "00:00-24:00"})
	if since, open := always.OpenSince(at("2026-11-24 00:01"), berlin); !open || !since.IsZero() {
		t.Errorf("a 24/7 store must have no opening moment, got %v %v", since, open)
	}
}

func TestTradingHoursRejects(t *testing.T) {
	for _, spec := range []map[string]string{
		{"mon": "8-20"},
		{"mon": "08:00-25:00"},
		{"funday": "08:00-20:00"},
		{"mon-fri": "08:00-20:00", "fri": "09:00-10:00"},
		{"mon": "08:00-08:00"},
		{"mon": "open"},
	} {
		if _, err := ParseTradingHours(spec); err == nil {
			t.Errorf("ParseTradingHours(%v) accepted a bad schedule", spec)
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	data, err := os.ReadFile("testdata/event.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode[Event](data); err != nil {
			b.Fatal(err)
		}
	}
}

// The birth says the agent's start-up grace in seconds; a negative one is
// refused with the field named.
func TestDecodeStatusGrace(t *testing.T) {
	good, _ := os.ReadFile("testdata/status.json")
	st, err := Decode[Status](good)
	if err != nil {
		t.Fatal(err)
	}
	if st.Grace != 120 || !st.Started.Equal(time.Date(2026, 11, 22, 6, 57, 58, 0, time.UTC)) {
		t.Errorf("grace %v started %v", st.Grace, st.Started)
	}
	_, err = Decode[Status]([]byte(strings.Replace(string(good), `"grace_s":120`, `"grace_s":-1`, 1)))
	var de *DecodeError
	if !errors.As(err, &de) || de.Kind != ErrInvalid || de.Field != "grace_s" {
		t.Errorf("negative grace: %v", err)
	}
}

// A configuration without discovery keeps the version it had before the
// field existed (the SHA-256 of its devices); one with discovery is
// named by both.
func TestConfigContentVersion(t *testing.T) {
	devices := "- {id: d, kind: other, driver: netprobe, address: 'tcp://10.0.0.1:22'}\n"
	c := DeviceConfig{Devices: devices}
	h := sha256.Sum256([]byte(devices))
	if got, want := c.ContentVersion(), "hub-"+hex.EncodeToString(h[:6]); got != want {
		t.Errorf("without discovery: %s, want %s", got, want)
	}
	d := c
	d.Discovery = "networks: [10.0.0.0/24]\n"
	e := d
	e.Discovery = "networks: [10.0.1.0/24]\n"
	if d.ContentVersion() == c.ContentVersion() || d.ContentVersion() == e.ContentVersion() {
		t.Errorf("discovery does not change the version: %s %s %s", c.ContentVersion(), d.ContentVersion(), e.ContentVersion())
	}
}
