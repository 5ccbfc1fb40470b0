package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/collector"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// Failure codes in wire.CommandResponse.Code.
const (
	CodeBadSignature  = "bad_signature"
	CodeExpired       = "expired"
	CodeReplay        = "replay"
	CodeWrongAgent    = "wrong_agent"
	CodeUnknownDevice = "unknown_device"
	CodeDenied        = "denied"
	CodeBusy          = "busy"
	CodeRateLimited   = "rate_limited"
	CodeDeviceBusy    = "device_busy"
	CodeTimeout       = "timeout"
	CodeFailed        = "failed"
	CodeUnsupported   = "unsupported"
	CodeDisabled      = "disabled"
)

// Limits on remote queries.
const (
	// MaxExpiry refuses requests valid for longer: the replay cache only has
	// to remember ids this long.
	MaxExpiry = 10 * time.Minute
	// QueriesPerMinute is each device's budget.
	QueriesPerMinute = 12
	maxRawBytes      = 256
)

// RemoteDevice is what the remote query handler needs to know of a device
// beyond the collector.
type RemoteDevice struct {
	Address  string // for raw access
	AllowRaw bool
}

// Remote answers signed remote queries from the hub. It verifies the
// signature, the expiry and that the request is new, runs an allow-listed
// operation through the same collector and port locks as the polls, and
// writes every request and answer to the audit log.
type Remote struct {
	id      wire.AgentID
	key     ed25519.PublicKey
	col     *collector.Collector
	devices map[string]RemoteDevice
	clk     clock.Clock
	audit   *AuditLog
	log     *slog.Logger

	resender Resender

	mu      sync.Mutex
	seen    map[string]time.Time // request id -> expiry
	running map[string]bool      // device -> a query is running
	buckets map[string]*bucket
}

// NewRemote builds the handler. hubKey is the hub's Ed25519 public key in
// base64; without it every request is refused.
func NewRemote(id wire.AgentID, hubKey string, col *collector.Collector, devices map[string]RemoteDevice, audit *AuditLog, clk clock.Clock, log *slog.Logger) (*Remote, error) {
	r := &Remote{id: id, col: col, devices: devices, clk: clk, audit: audit, log: log,
		seen: map[string]time.Time{}, running: map[string]bool{}, buckets: map[string]*bucket{}}
	if r.clk == nil {
		r.clk = clock.Real{}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if hubKey != "" {
		b, err := base64.StdEncoding.DecodeString(hubKey)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errors.New("remote.hub_public_key: not a base64 Ed25519 public key")
		}
		r.key = b
	}
	return r, nil
}

// Resender publishes again messages the agent already sent, by sequence
// number (the uplink): the agent's side of wire.OpResend.
type Resender interface {
	Resend(ctx context.Context, spans []wire.SeqSpan) (wire.ResendResult, error)
}

// SetResender lets the hub ask for numbered messages again (wire.OpResend);
// without one such requests are refused as unsupported. Call it before the
// handler is in use.
func (r *Remote) SetResender(s Resender) { r.resender = s }

// resendBucket is the rate limit of resend requests, apart from every
// device's (a device id has no parentheses).
const resendBucket = "(resend)"

// HandleCommand answers one request. It never returns nil.
func (r *Remote) HandleCommand(ctx context.Context, req *wire.CommandRequest) *wire.CommandResponse {
	start := r.clk.Now()
	res := r.handle(ctx, req)
	res.Header = wire.Header{AgentID: r.id, Time: r.clk.Now().UTC()}
	res.ID, res.Device, res.Op = req.ID, req.Device, req.Op
	res.Took = float64(r.clk.Now().Sub(start).Microseconds()) / 1000
	r.record(start, req, res)
	r.log.Info("remote query", "id", req.ID, "requester", req.Requester, "device", req.Device, "op", req.Op, "ok", res.OK, "code", res.Code)
	return res
}

// Refused audits a request the uplink refused before it reached
// HandleCommand (an expired one), so the audit log holds every request.
func (r *Remote) Refused(req *wire.CommandRequest, res *wire.CommandResponse) {
	r.record(r.clk.Now(), req, res)
}

func (r *Remote) record(start time.Time, req *wire.CommandRequest, res *wire.CommandResponse) {
	r.audit.Record(AuditEntry{
		Time: start.UTC(), ID: req.ID, Requester: req.Requester, Device: req.Device, Op: req.Op, Args: req.Args,
		OK: res.OK, Code: res.Code, Error: res.Error, TookMS: res.Took,
	})
}

func fail(code, format string, args ...any) *wire.CommandResponse {
	return &wire.CommandResponse{OK: false, Code: code, Error: fmt.Sprintf(format, args...)}
}

func (r *Remote) handle(ctx context.Context, req *wire.CommandRequest) *wire.CommandResponse {
	if r.key == nil {
		return fail(CodeDisabled, "remote queries are off on this agent (no remote.hub_public_key configured)")
	}
	if !ed25519.Verify(r.key, req.SigningBytes(), req.Signature) {
		return fail(CodeBadSignature, "the request's signature does not match the hub's key")
	}
	if req.AgentID != r.id {
		return fail(CodeWrongAgent, "the request is for agent %s, this is %s", req.AgentID, r.id)
	}
	now := r.clk.Now()
	if !now.Before(req.Expires) {
		return fail(CodeExpired, "the request expired at %s", req.Expires.UTC().Format(time.RFC3339))
	}
	if req.Expires.Sub(now) > MaxExpiry {
		return fail(CodeExpired, "the request is valid until %s, longer than the %v this agent accepts", req.Expires.UTC().Format(time.RFC3339), MaxExpiry)
	}
	if !r.firstSight(req.ID, req.Expires, now) {
		return fail(CodeReplay, "request %s was already answered", req.ID)
	}
	if req.Op == wire.OpResend {
		return r.resend(ctx, req, now)
	}
	dev, known := r.devices[req.Device]
	if _, ok := r.col.Timeout(req.Device); !ok || !known {
		return fail(CodeUnknownDevice, "this agent has no device %q", req.Device)
	}
	if req.Op == wire.OpOperations {
		return ok(wire.OperationsResult{Operations: r.operations(dev)})
	}
	if !contains(r.operations(dev), req.Op) {
		if req.Op == wire.OpRaw {
			return fail(CodeDenied, "raw access is off for %s (allow_raw is not set in the agent's configuration)", req.Device)
		}
		return fail(CodeDenied, "operation %q is not allowed (allowed: %s)", req.Op, strings.Join(r.operations(dev), ", "))
	}
	if !r.take(req.Device, now) {
		return fail(CodeRateLimited, "too many queries for %s; at most %d a minute", req.Device, QueriesPerMinute)
	}
	if !r.begin(req.Device) {
		return fail(CodeBusy, "another query for %s is running", req.Device)
	}
	defer r.end(req.Device)

	switch req.Op {
	case wire.OpStatus:
		res, err := r.col.ProbeOnce(ctx, req.Device)
		if err != nil {
			return fail(CodeTimeout, "%v", err)
		}
		if res.Busy {
			f := fail(CodeDeviceBusy, "the device is busy (%s); try again in a moment", res.Detail)
			f.Holder = res.Holder
			return f
		}
		return ok(wire.StatusResult{State: res.State, Faults: res.Faults, Detail: res.Detail, Identity: res.Ident,
			Measurements: res.Measurements, TookMS: float64(res.Took.Microseconds()) / 1000})
	case wire.OpIdentify:
		ident, err := r.col.Identify(ctx, req.Device)
		switch {
		case errors.Is(err, collector.ErrNotSupported):
			return fail(CodeUnsupported, "the driver of %s cannot read a device's identity on demand; the last identity it reported is in the status", req.Device)
		case errors.Is(err, drivers.ErrBusy):
			f := fail(CodeDeviceBusy, "the device is busy (%v); try again in a moment", err)
			if h, ok := transport.BusyHolder(err); ok && (h.Process != "" || h.PID > 0) {
				f.Holder = &wire.Holder{Process: h.Process, PID: h.PID}
			}
			return f
		case err != nil:
			return fail(timeoutOr(err), "%s", describe(err, r.col, req.Device))
		}
		return ok(ident)
	case wire.OpCounters:
		for _, s := range r.col.States() {
			if s.ID == req.Device {
				return ok(wire.CountersResult{Measurements: s.Measurements, LastPoll: s.LastPoll.UTC(), State: s.State})
			}
		}
	case wire.OpRaw:
		return r.raw(ctx, req, dev)
	}
	return fail(CodeFailed, "operation %q has no handler", req.Op)
}

// resend publishes again what the hub found missing (wire.OpResend):
// read-only, the messages the agent already sent.
func (r *Remote) resend(ctx context.Context, req *wire.CommandRequest, now time.Time) *wire.CommandResponse {
	if r.resender == nil {
		return fail(CodeUnsupported, "this agent keeps no sent messages to publish again")
	}
	spans, err := wire.ParseSpans(req.Args["seqs"])
	if err != nil || len(req.Args) != 1 {
		return fail(CodeFailed, "resend takes one argument, seqs (e.g. \"5,7-9\"): %v", err)
	}
	if !r.take(resendBucket, now) {
		return fail(CodeRateLimited, "too many resend requests; at most %d a minute", QueriesPerMinute)
	}
	res, err := r.resender.Resend(ctx, spans)
	if err != nil {
		f := fail(timeoutOr(err), "%v", err)
		f.Result, _ = json.Marshal(res)
		return f
	}
	return ok(res)
}

func ok(v any) *wire.CommandResponse {
	b, err := json.Marshal(v)
	if err != nil {
		return fail(CodeFailed, "encode result: %v", err)
	}
	return &wire.CommandResponse{OK: true, Result: b}
}

func (r *Remote) operations(dev RemoteDevice) []string {
	ops := []string{wire.OpCounters, wire.OpIdentify, wire.OpOperations, wire.OpStatus}
	if dev.AllowRaw {
		ops = append(ops, wire.OpRaw)
	}
	sort.Strings(ops)
	return ops
}

// raw writes the request's bytes (hex in args["hex"]) to the device and
// returns what it answers within the device timeout. Only for devices whose
// configuration allows it.
func (r *Remote) raw(ctx context.Context, req *wire.CommandRequest, dev RemoteDevice) *wire.CommandResponse {
	payload, err := hex.DecodeString(strings.ReplaceAll(req.Args["hex"], " ", ""))
	if err != nil || len(payload) == 0 || len(payload) > maxRawBytes {
		return fail(CodeFailed, "args.hex must be 1 to %d bytes of hex", maxRawBytes)
	}
	addr, err := transport.Parse(dev.Address)
	if err != nil {
		return fail(CodeFailed, "%v", err)
	}
	var answer []byte
	err = r.col.WithPort(ctx, req.Device, func(ctx context.Context) error {
		c, err := transport.Dial(ctx, addr, transport.DialOptions{})
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.Write(payload); err != nil {
			return err
		}
		buf := make([]byte, 4096)
		for len(answer) < len(buf) {
			n, err := c.Read(buf[len(answer):])
			answer = buf[:len(answer)+n]
			if err != nil {
				return nil // the device stopped answering: return what came
			}
		}
		return nil
	})
	if err != nil {
		return fail(timeoutOr(err), "%v", err)
	}
	return ok(wire.RawResult{Hex: hex.EncodeToString(answer)})
}

func timeoutOr(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return CodeTimeout
	}
	return CodeFailed
}

func describe(err error, col *collector.Collector, id string) string {
	if errors.Is(err, context.DeadlineExceeded) {
		if d, ok := col.Timeout(id); ok {
			return fmt.Sprintf("device did not answer in %v", d)
		}
	}
	return err.Error()
}

// firstSight records a request id; it reports false for an id already seen.
// Ids are forgotten once their request has expired, which is safe because an
// expired request is refused anyway.
func (r *Remote) firstSight(id string, expires, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, exp := range r.seen {
		if now.After(exp) {
			delete(r.seen, k)
		}
	}
	if _, dup := r.seen[id]; dup {
		return false
	}
	r.seen[id] = expires
	return true
}

func (r *Remote) begin(device string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[device] {
		return false
	}
	r.running[device] = true
	return true
}

func (r *Remote) end(device string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, device)
}

// bucket is a token bucket refilling QueriesPerMinute tokens a minute.
type bucket struct {
	tokens float64
	last   time.Time
}

func (r *Remote) take(device string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.buckets[device]
	if !ok {
		b = &bucket{tokens: QueriesPerMinute, last: now}
		r.buckets[device] = b
	}
	b.tokens = min(QueriesPerMinute, b.tokens+now.Sub(b.last).Minutes()*QueriesPerMinute)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
