package agent

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/collector"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

var agentID = wire.AgentID{Tenant: "acme", Store: "s1", Agent: "a1"}

// printer answers probes with a fixed reading and can say who it is.
type printer struct {
	reading drivers.Reading
	err     error
}

func (p *printer) Probe(context.Context) (drivers.Reading, error) { return p.reading, p.err }
func (p *printer) Identify(context.Context) (wire.Identity, error) {
	return wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: "X5E1"}, nil
}

type remoteFixture struct {
	r     *Remote
	key   ed25519.PrivateKey
	clk   *clock.Fake
	audit string
	seq   int
}

func newRemoteFixture(t *testing.T, rawAddr string, probers map[string]drivers.Prober) *remoteFixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	var devs []collector.Device
	remote := map[string]RemoteDevice{}
	for id, p := range probers {
		devs = append(devs, collector.Device{ID: id, Resource: "tcp:" + id, Interval: time.Minute, Timeout: time.Second, Debounce: 1, Prober: p})
		remote[id] = RemoteDevice{Address: "tcp://" + rawAddr, AllowRaw: id == "rawok"}
	}
	col := collector.New(devs, LogSink{Log: slog.New(slog.DiscardHandler)}, collector.Options{Clock: clk})
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	r, err := NewRemote(agentID, base64.StdEncoding.EncodeToString(pub), col, remote, NewAuditLog(auditPath, 0, nil), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &remoteFixture{r: r, key: priv, clk: clk, audit: auditPath}
}

// request builds a signed request; change edits it after signing.
func (f *remoteFixture) request(device, op string, args map[string]string, change func(*wire.CommandRequest)) *wire.CommandRequest {
	f.seq++
	req := &wire.CommandRequest{
		Header: wire.Header{AgentID: agentID, Time: f.clk.Now()}, ID: fmt.Sprintf("q%d", f.seq), Device: device, Op: op,
		Args: args, Requester: "jane@helpdesk", Expires: f.clk.Now().Add(30 * time.Second),
	}
	req.Signature = ed25519.Sign(f.key, req.SigningBytes())
	if change != nil {
		change(req)
	}
	return req
}

func (f *remoteFixture) ask(req *wire.CommandRequest) *wire.CommandResponse {
	return f.r.HandleCommand(context.Background(), req)
}

func TestRemoteQueries(t *testing.T) {
	f := newRemoteFixture(t, "127.0.0.1:1", map[string]drivers.Prober{
		"printer": &printer{reading: drivers.Reading{Faults: []wire.Fault{wire.NewFault(wire.FaultPaperLow, "near end")}}},
		"pc":      drivers.ProberFunc(func(context.Context) (drivers.Reading, error) { return drivers.Reading{}, nil }),
		"pt":      drivers.ProberFunc(func(context.Context) (drivers.Reading, error) { return drivers.Reading{}, drivers.ErrBusy }),
	})
	cases := []struct {
		name     string
		req      *wire.CommandRequest
		wantOK   bool
		wantCode string
	}{
		{"status", f.request("printer", wire.OpStatus, nil, nil), true, ""},
		{"identify", f.request("printer", wire.OpIdentify, nil, nil), true, ""},
		{"identify unsupported", f.request("pc", wire.OpIdentify, nil, nil), false, CodeUnsupported},
		{"operations", f.request("pc", wire.OpOperations, nil, nil), true, ""},
		{"payment in progress", f.request("pt", wire.OpStatus, nil, nil), false, CodeDeviceBusy},
		{"tampered", f.request("printer", wire.OpStatus, nil, func(r *wire.CommandRequest) { r.Op = wire.OpIdentify }), false, CodeBadSignature},
		{"unsigned", f.request("printer", wire.OpStatus, nil, func(r *wire.CommandRequest) { r.Signature = nil }), false, CodeBadSignature},
		{"expired", f.request("printer", wire.OpStatus, nil, func(r *wire.CommandRequest) {
			r.Expires = f.clk.Now().Add(-time.Second)
			r.Signature = ed25519.Sign(f.key, r.SigningBytes())
		}), false, CodeExpired},
		{"too far ahead", f.request("printer", wire.OpStatus, nil, func(r *wire.CommandRequest) {
			r.Expires = f.clk.Now().Add(time.Hour)
			r.Signature = ed25519.Sign(f.key, r.SigningBytes())
		}), false, CodeExpired},
		{"other agent", f.request("printer", wire.OpStatus, nil, func(r *wire.CommandRequest) {
			r.Agent = "a2"
			r.Signature = ed25519.Sign(f.key, r.SigningBytes())
		}), false, CodeWrongAgent},
		{"unknown device", f.request("toaster", wire.OpStatus, nil, nil), false, CodeUnknownDevice},
		{"raw is off", f.request("printer", wire.OpRaw, map[string]string{"hex": "100401"}, nil), false, CodeDenied},
		{"unknown op", f.request("printer", "reboot", nil, nil), false, CodeDenied},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.ask(c.req)
			if res.OK != c.wantOK || res.Code != c.wantCode {
				t.Fatalf("response = ok %v code %q (%s), want ok %v code %q", res.OK, res.Code, res.Error, c.wantOK, c.wantCode)
			}
			if res.ID != c.req.ID || res.Agent != "a1" || (!res.OK && res.Error == "") {
				t.Errorf("response header/fields = %+v", res)
			}
			if _, err := wire.Encode(res); err != nil {
				t.Errorf("response is not a valid wire message: %v", err)
			}
		})
	}

	// What a status answer carries.
	var st wire.StatusResult
	json.Unmarshal(f.ask(f.request("printer", wire.OpStatus, nil, nil)).Result, &st)
	if st.State != wire.StateDegraded || st.Faults[0].Code != wire.FaultPaperLow {
		t.Errorf("status result = %+v", st)
	}
	// Every request is in the audit log, with who asked.
	lines := readLines(t, f.audit)
	if len(lines) != len(cases)+1 {
		t.Errorf("audit has %d entries, want %d", len(lines), len(cases)+1)
	}
	var first AuditEntry
	json.Unmarshal([]byte(lines[0]), &first)
	if first.Requester != "jane@helpdesk" || first.Op != wire.OpStatus || !first.OK {
		t.Errorf("audit entry = %+v", first)
	}
}

func TestReplayIsRefused(t *testing.T) {
	f := newRemoteFixture(t, "127.0.0.1:1", map[string]drivers.Prober{"printer": &printer{}})
	req := f.request("printer", wire.OpStatus, nil, nil)
	if res := f.ask(req); !res.OK {
		t.Fatalf("first: %+v", res)
	}
	if res := f.ask(req); res.Code != CodeReplay {
		t.Errorf("replay: %+v", res)
	}
}

func TestRateLimitPerDevice(t *testing.T) {
	f := newRemoteFixture(t, "127.0.0.1:1", map[string]drivers.Prober{"printer": &printer{}, "pc": &printer{}})
	for i := range QueriesPerMinute {
		if res := f.ask(f.request("printer", wire.OpStatus, nil, nil)); !res.OK {
			t.Fatalf("query %d: %+v", i, res)
		}
	}
	if res := f.ask(f.request("printer", wire.OpStatus, nil, nil)); res.Code != CodeRateLimited {
		t.Fatalf("over the budget: %+v", res)
	}
	if res := f.ask(f.request("pc", wire.OpStatus, nil, nil)); !res.OK {
		t.Errorf("another device has its own budget: %+v", res)
	}
	f.clk.Advance(10 * time.Second)
	if res := f.ask(f.request("printer", wire.OpStatus, nil, nil)); !res.OK {
		t.Errorf("after 10s the budget has refilled a little: %+v", res)
	}
}

func TestWithoutHubKeyEverythingIsRefused(t *testing.T) {
	f := newRemoteFixture(t, "127.0.0.1:1", map[string]drivers.Prober{"printer": &printer{}})
	f.r.key = nil
	if res := f.ask(f.request("printer", wire.OpStatus, nil, nil)); res.Code != CodeDisabled {
		t.Errorf("%+v", res)
	}
}

func TestRawWhenAllowed(t *testing.T) {
	addr := testenv.ServeTCP(t, func(c net.Conn) {
		buf := make([]byte, 3)
		io.ReadFull(c, buf)
		c.Write([]byte{0x16}) // a DLE EOT 1 answer
	})
	f := newRemoteFixture(t, addr, map[string]drivers.Prober{"rawok": &printer{}})
	res := f.ask(f.request("rawok", wire.OpRaw, map[string]string{"hex": "10 04 01"}, nil))
	if !res.OK || string(res.Result) != `{"hex":"16"}` {
		t.Errorf("raw: %+v %s", res, res.Result)
	}
}

func readLines(t *testing.T, path string) []string {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestAuditLogRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a := NewAuditLog(path, 300, nil)
	for i := range 10 {
		a.Record(AuditEntry{ID: fmt.Sprintf("q%d", i), Requester: "someone", Device: "printer", Op: wire.OpStatus, OK: true})
	}
	cur, old := readLines(t, path), readLines(t, path+".1")
	if len(cur) == 0 || len(old) == 0 || len(cur)+len(old) > 10 {
		t.Errorf("current %d lines, previous %d", len(cur), len(old))
	}
	if st, _ := os.Stat(path); st.Size() > 300 {
		t.Errorf("audit file grew to %d bytes", st.Size())
	}
}

// heldScale is a serial device another program holds: every probe and
// identity read finds its port locked.
type heldScale struct{}

var heldErr = &transport.BusyError{Resource: "/dev/ttyS1", Holder: transport.Holder{Process: "POS.exe", PID: 4312}, How: "lock file /var/lock/LCK..ttyS1"}

func (heldScale) Probe(context.Context) (drivers.Reading, error)  { return drivers.Reading{}, heldErr }
func (heldScale) Identify(context.Context) (wire.Identity, error) { return wire.Identity{}, heldErr }

// A busy answer names who holds the device, as a field the hub and the
// console show ("in use by POS.exe (pid 4312)"), not only in the text.
func TestBusyAnswerNamesTheHolder(t *testing.T) {
	f := newRemoteFixture(t, "127.0.0.1:1", map[string]drivers.Prober{"scale": heldScale{}})
	for _, op := range []string{wire.OpStatus, wire.OpIdentify} {
		t.Run(op, func(t *testing.T) {
			res := f.ask(f.request("scale", op, nil, nil))
			if res.OK || res.Code != CodeDeviceBusy {
				t.Fatalf("response = ok %v code %q (%s), want device_busy", res.OK, res.Code, res.Error)
			}
			if res.Holder == nil || res.Holder.String() != "in use by POS.exe (pid 4312)" {
				t.Fatalf("holder = %+v, want POS.exe (pid 4312)", res.Holder)
			}
			b, err := wire.Encode(res)
			if err != nil || !strings.Contains(string(b), `"holder":{"process":"POS.exe","pid":4312}`) {
				t.Errorf("encoded %s, %v", b, err)
			}
		})
	}
}

// resender records what it was asked to publish again.
type resender struct {
	asked [][]wire.SeqSpan
	res   wire.ResendResult
	err   error
}

func (r *resender) Resend(_ context.Context, spans []wire.SeqSpan) (wire.ResendResult, error) {
	r.asked = append(r.asked, spans)
	return r.res, r.err
}

// A resend request is agent-level (no device) and signed like any other;
// its numbers are checked before the outbox is touched.
func TestResendRequests(t *testing.T) {
	f := newRemoteFixture(t, "127.0.0.1:1", map[string]drivers.Prober{"printer": &printer{}})
	seqs := func(s string) map[string]string { return map[string]string{"seqs": s} }
	if res := f.ask(f.request("", wire.OpResend, seqs("5"), nil)); res.Code != CodeUnsupported {
		t.Fatalf("without a resender: %+v", res)
	}
	rs := &resender{res: wire.ResendResult{Resent: 2, Pending: 1, Gone: "5"}}
	f.r.SetResender(rs)
	res := f.ask(f.request("", wire.OpResend, seqs("5,7-9"), nil))
	var got wire.ResendResult
	if err := json.Unmarshal(res.Result, &got); !res.OK || err != nil || got != rs.res {
		t.Fatalf("resend: %+v (%v)", res, err)
	}
	if len(rs.asked) != 1 || wire.FormatSpans(rs.asked[0]) != "5,7-9" {
		t.Fatalf("the resender was asked for %v", rs.asked)
	}
	for _, c := range []struct {
		name string
		req  *wire.CommandRequest
		code string
	}{
		{"bad numbers", f.request("", wire.OpResend, seqs("9-7"), nil), CodeFailed},
		{"no numbers", f.request("", wire.OpResend, nil, nil), CodeFailed},
		{"another argument", f.request("", wire.OpResend, map[string]string{"seqs": "5", "hex": "10"}, nil), CodeFailed},
		{"numbers changed after signing", f.request("", wire.OpResend, seqs("5"), func(r *wire.CommandRequest) { r.Args = seqs("1-4096") }), CodeBadSignature},
	} {
		if res := f.ask(c.req); res.OK || res.Code != c.code {
			t.Errorf("%s: %+v, want code %s", c.name, res, c.code)
		}
	}
	if len(rs.asked) != 1 {
		t.Errorf("refused requests reached the resender: %v", rs.asked)
	}
	rs.err = context.DeadlineExceeded
	if res := f.ask(f.request("", wire.OpResend, seqs("11"), nil)); res.Code != CodeTimeout || res.Result == nil {
		t.Errorf("a resend that timed out: %+v", res)
	}
}
