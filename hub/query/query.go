package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// Ops are the operations the hub sends, in the order they are offered.
var Ops = []string{wire.OpStatus, wire.OpIdentify, wire.OpCounters, wire.OpOperations, wire.OpRaw}

// Failure codes the hub gives itself; the agent's own codes (timeout,
// denied, device_busy, bad_signature, ...) come through unchanged.
const (
	CodeBadRequest    = "bad_request"
	CodeUnknownStore  = "unknown_store"
	CodeUnknownDevice = "unknown_device"
	CodeAmbiguous     = "ambiguous_store"
	CodeOffline       = "agent_offline"
	CodeBusy          = "busy"
	CodeRateLimited   = "rate_limited"
	CodeNoAnswer      = "no_answer"
	CodeCancelled     = "cancelled"
	CodeBroker        = "broker_unavailable"
	CodeAudit         = "audit_failed"
	CodeUnavailable   = "store_unavailable" // the hub's records could not be read (a replica's database restarting)
)

// Directory is where a query finds its device, the agent that has it and
// the store's time zone: the incident engine on the one hub, the database
// on a replica (hub/directory.go). Each look-up reads one store or agent,
// never the whole fleet.
type Directory interface {
	// StoreDevices returns a store's devices; tenant "" means the stores
	// of that name in every tenant.
	StoreDevices(tenant, store string) ([]incident.DeviceRecord, error)
	Agent(id wire.AgentID) (incident.AgentRecord, bool, error)
	Store(tenant, store string) (incident.StoreRecord, bool, error)
}

// Auditor keeps the audit trail (the hub's store).
type Auditor interface {
	AppendAudit(store.AuditEntry) (store.AuditEntry, error)
}

// Publisher sends a message to the broker: the embedded broker's inline
// publish, or the hub's client of an external broker.
type Publisher func(topic string, payload []byte) error

// Options configures a Service.
type Options struct {
	Key       *Key
	Directory Directory
	Publish   Publisher
	Audit     Auditor
	Clock     clock.Clock
	Log       *slog.Logger
	// Timeout is how long to wait for an answer; Expiry how long a signed
	// request is valid. PerMinute bounds the queries per device.
	Timeout   time.Duration
	Expiry    time.Duration
	PerMinute int
	// Origin names this hub in request ids (its MQTT client id), so the
	// audit trail shows which replica sent a request.
	Origin string
}

// Service runs remote queries.
type Service struct {
	o   Options
	clk clock.Clock
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]*waiter     // request id -> the query waiting for it
	running map[string]*waiter     // tenant/store/device -> the query running on it
	sent    map[string][]time.Time // tenant/store/device -> when queries were sent, within the last minute
}

type waiter struct {
	req  wire.CommandRequest
	ch   chan *wire.CommandResponse
	sent time.Time
}

// New returns a service.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Expiry < o.Timeout {
		o.Expiry = max(30*time.Second, o.Timeout)
	}
	if o.PerMinute <= 0 {
		o.PerMinute = 6
	}
	if o.Origin == "" {
		o.Origin = "storehub"
	}
	return &Service{o: o, clk: o.Clock, log: o.Log,
		pending: map[string]*waiter{}, running: map[string]*waiter{}, sent: map[string][]time.Time{}}
}

// PublicKey returns the hub's public key for the agents' configuration.
func (s *Service) PublicKey() string { return s.o.Key.PublicKey() }

// Request is one query.
type Request struct {
	Who    string // the API token's name
	Tenant string // optional while the store id is unique
	Store  string
	Device string
	Op     string
	Args   map[string]string
}

// Answer is what came of a query: the agent's answer, or why there is none.
type Answer struct {
	ID     string          `json:"id,omitempty"`
	Tenant string          `json:"tenant,omitempty"`
	Store  string          `json:"store"`
	Agent  string          `json:"agent,omitempty"`
	Device string          `json:"device"`
	Op     string          `json:"op"`
	OK     bool            `json:"ok"`
	Code   string          `json:"code,omitempty"`
	Error  string          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	// DeviceMS is the agent's own time for the operation; RoundTripMS is
	// from publishing the request to receiving the answer.
	DeviceMS    float64   `json:"device_ms,omitempty"`
	RoundTripMS float64   `json:"round_trip_ms,omitempty"`
	AskedAt     time.Time `json:"asked_at"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
	// Holder is who has the device, with code device_busy, as far as the
	// store PC tells ("in use by POS.exe (pid 4312)").
	Holder *wire.Holder `json:"holder,omitempty"`
}

func (a *Answer) fail(code, format string, args ...any) Answer {
	a.OK, a.Code, a.Error = false, code, fmt.Sprintf(format, args...)
	return *a
}

// Query asks the agent that owns the device and waits for its answer, the
// timeout, or ctx. It never sends a request it has not audited first, and
// audits what came of it.
func (s *Service) Query(ctx context.Context, r Request) Answer {
	now := s.clk.Now()
	a := Answer{Tenant: r.Tenant, Store: r.Store, Device: r.Device, Op: r.Op, AskedAt: now.UTC()}
	if err := CheckRequest(r.Op, r.Args); err != nil {
		return s.refuse(r, a.fail(CodeBadRequest, "%v", err))
	}
	dev, agent, fail := s.locate(r)
	if fail != nil {
		return s.refuse(r, a.fail(fail.code, "%s", fail.msg))
	}
	a.Tenant, a.Agent = dev.Tenant, dev.Agent
	key := dev.Tenant + "/" + dev.Store + "/" + dev.ID
	id, err := newID(s.o.Origin)
	if err != nil {
		return s.refuse(r, a.fail(CodeBadRequest, "request id: %v", err))
	}
	w := &waiter{ch: make(chan *wire.CommandResponse, 1), sent: now, req: wire.CommandRequest{
		Header: wire.Header{AgentID: agent, Time: now.UTC()},
		ID:     id, Device: dev.ID, Op: r.Op, Args: r.Args, Requester: r.Who,
		Expires: now.Add(s.o.Expiry).UTC(),
	}}
	if msg := s.admit(key, w, now); msg != "" {
		code := CodeBusy
		if strings.HasPrefix(msg, "rate:") {
			code, msg = CodeRateLimited, strings.TrimPrefix(msg, "rate:")
		}
		return s.refuse(r, a.fail(code, "%s", msg))
	}
	defer s.finish(key, w)
	a.ID = id
	res := s.exchange(ctx, w, r.Who, &a, now)
	if res == nil {
		return a
	}
	a.AnsweredAt = s.clk.Now().UTC()
	a.RoundTripMS = float64(a.AnsweredAt.Sub(now).Microseconds()) / 1000
	a.OK, a.Code, a.Error, a.Result, a.DeviceMS, a.Holder = res.OK, res.Code, res.Error, res.Result, res.Took, res.Holder
	return a
}

// exchange signs w's request, audits it, publishes it and waits for its
// answer, the timeout or ctx. Without an answer it returns nil, a says why,
// and that is audited.
func (s *Service) exchange(ctx context.Context, w *waiter, who string, a *Answer, now time.Time) *wire.CommandResponse {
	id := w.req.ID
	w.req.Signature = s.o.Key.Sign(w.req.SigningBytes())
	payload, err := wire.Encode(&w.req)
	if err != nil {
		a.fail(CodeBadRequest, "%v", err)
		s.auditOutcome(store.AuditRefused, &w.req, who, *a)
		return nil
	}
	if _, err := s.audit(store.AuditEntry{At: now, Event: store.AuditRequest, OK: true}, &w.req, who); err != nil {
		// Nothing is sent that the audit trail does not show.
		a.fail(CodeAudit, "the request could not be audited, so it was not sent: %v", err)
		return nil
	}
	s.mu.Lock()
	s.pending[id] = w
	s.mu.Unlock()
	if err := s.o.Publish(w.req.AgentID.Topic(wire.ChannelCmdReq), payload); err != nil {
		s.forget(id)
		a.fail(CodeBroker, "the hub cannot reach the broker: %v", err)
		s.auditOutcome(store.AuditRefused, &w.req, who, *a)
		return nil
	}
	timer := s.clk.NewTimer(s.o.Timeout)
	defer timer.Stop()
	var res *wire.CommandResponse
	select {
	case res = <-w.ch:
	case <-timer.C():
		a.fail(CodeNoAnswer, "the agent did not answer in %v", s.o.Timeout)
	case <-ctx.Done():
		a.fail(CodeCancelled, "the requester gave up before the agent answered (%v)", ctx.Err())
	}
	if res == nil && !s.forget(id) {
		// The answer was claimed while the wait ended: take it.
		res = <-w.ch
	}
	if res == nil {
		s.auditOutcome(store.AuditTimeout, &w.req, who, *a)
	}
	return res
}

// Resender names the hub in the audit trail when it asks an agent to
// publish again what the hub is missing (Resend).
const Resender = "storehub (resend)"

// Resend asks an agent to publish again the numbered messages of spans
// (wire.OpResend) and waits for its answer. One resend per agent runs at a
// time, within the service's per-minute budget, and every request is
// audited like a query.
func (s *Service) Resend(ctx context.Context, agent wire.AgentID, spans []wire.SeqSpan) (wire.ResendResult, error) {
	now := s.clk.Now()
	id, err := newID(s.o.Origin)
	if err != nil {
		return wire.ResendResult{}, err
	}
	w := &waiter{ch: make(chan *wire.CommandResponse, 1), sent: now, req: wire.CommandRequest{
		Header: wire.Header{AgentID: agent, Time: now.UTC()},
		ID:     id, Op: wire.OpResend, Args: map[string]string{"seqs": wire.FormatSpans(spans)}, Requester: Resender,
		Expires: now.Add(s.o.Expiry).UTC(),
	}}
	key := agent.String() + "#" + wire.OpResend
	if msg := s.admit(key, w, now); msg != "" {
		return wire.ResendResult{}, fmt.Errorf("%s", strings.TrimPrefix(msg, "rate:"))
	}
	defer s.finish(key, w)
	a := Answer{ID: id, Tenant: agent.Tenant, Store: agent.Store, Agent: agent.Agent, Op: wire.OpResend, AskedAt: now.UTC()}
	res := s.exchange(ctx, w, Resender, &a, now)
	if res == nil {
		return wire.ResendResult{}, fmt.Errorf("%s: %s", a.Code, a.Error)
	}
	var out wire.ResendResult
	if len(res.Result) > 0 {
		if err := json.Unmarshal(res.Result, &out); err != nil {
			return out, fmt.Errorf("the agent's answer: %w", err)
		}
	}
	if !res.OK {
		return out, fmt.Errorf("%s: %s", res.Code, res.Error)
	}
	return out, nil
}

// Answer takes an agent's answer from ingest (decoded strictly, its
// identity checked against the topic), hands it to the query waiting for
// it, and audits it. An answer no query waits for is audited as
// unsolicited: a replayed, forged or expired request that someone else
// published, or an answer that came after the hub gave up.
func (s *Service) Answer(from wire.AgentID, res *wire.CommandResponse, at time.Time) {
	s.mu.Lock()
	w, ok := s.pending[res.ID]
	match := ok && w.req.AgentID == from && w.req.Device == res.Device && w.req.Op == res.Op
	if match {
		delete(s.pending, res.ID)
	}
	s.mu.Unlock()
	e := store.AuditEntry{At: at, Event: store.AuditAnswer, ID: res.ID, Tenant: from.Tenant, Store: from.Store, Agent: from.Agent,
		Device: res.Device, Op: res.Op, OK: res.OK, Code: res.Code, Error: res.Error}
	switch {
	case match:
		e.Who, e.TookMS = w.req.Requester, float64(at.Sub(w.sent).Microseconds())/1000
		w.ch <- res
	case ok:
		e.Event, e.Who = store.AuditUnsolicited, w.req.Requester
		e.Error = strings.TrimSpace(fmt.Sprintf("%s (the answer names %s %s/%s, the request was for %s %s/%s)",
			e.Error, from, res.Device, res.Op, w.req.AgentID, w.req.Device, w.req.Op))
	default:
		e.Event = store.AuditUnsolicited
	}
	if _, err := s.o.Audit.AppendAudit(e); err != nil {
		s.log.Error("remote query answer not audited", "id", res.ID, "agent", from, "err", err)
	}
	if !match {
		s.log.Warn("remote query answer nobody waits for", "id", res.ID, "agent", from, "device", res.Device, "code", res.Code)
	}
}

type failure struct{ code, msg string }

// locate finds the device and the agent that owns it, and says why not.
func (s *Service) locate(r Request) (incident.DeviceRecord, wire.AgentID, *failure) {
	all, err := s.o.Directory.StoreDevices(r.Tenant, r.Store)
	if err != nil {
		return incident.DeviceRecord{}, wire.AgentID{}, &failure{CodeUnavailable, fmt.Sprintf("store %s: %v", r.Store, err)}
	}
	var devs []incident.DeviceRecord
	tenants := map[string]bool{}
	for _, d := range all {
		tenants[d.Tenant] = true
		if d.ID == r.Device {
			devs = append(devs, d)
		}
	}
	switch {
	case len(tenants) == 0:
		return incident.DeviceRecord{}, wire.AgentID{}, &failure{CodeUnknownStore, fmt.Sprintf("no store %s with devices is known to the hub", r.Store)}
	case len(devs) == 0:
		return incident.DeviceRecord{}, wire.AgentID{}, &failure{CodeUnknownDevice, fmt.Sprintf("store %s has no device %s", r.Store, r.Device)}
	case len(devs) > 1:
		var ts []string
		for _, d := range devs {
			ts = append(ts, d.Tenant)
		}
		sort.Strings(ts)
		return incident.DeviceRecord{}, wire.AgentID{}, &failure{CodeAmbiguous, fmt.Sprintf("store %s exists in tenants %s; say which", r.Store, strings.Join(ts, ", "))}
	}
	d := devs[0]
	id := wire.AgentID{Tenant: d.Tenant, Store: d.Store, Agent: d.Agent}
	ag, ok, err := s.o.Directory.Agent(id)
	switch {
	case err != nil:
		return d, id, &failure{CodeUnavailable, fmt.Sprintf("agent %s of store %s: %v", d.Agent, d.Store, err)}
	case !ok:
		return d, id, &failure{CodeOffline, fmt.Sprintf("agent %s of store %s has not been seen online", d.Agent, d.Store)}
	case !ag.Online:
		return d, id, &failure{CodeOffline, fmt.Sprintf("agent %s of store %s offline since %s", d.Agent, d.Store, s.storeTime(d.Tenant, d.Store, ag.Since))}
	}
	return d, id, nil
}

// storeTime writes t in the store's time zone: "10:42 (Europe/Berlin)"
// today, with the date before that.
func (s *Service) storeTime(tenant, st string, t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	loc := time.UTC
	if r, ok, _ := s.o.Directory.Store(tenant, st); ok && r.Info.TimeZone != "" { // unreadable: UTC, said in the text
		if l, err := time.LoadLocation(r.Info.TimeZone); err == nil {
			loc = l
		}
	}
	t, now := t.In(loc), s.clk.Now().In(loc)
	layout := "15:04"
	if t.Format(time.DateOnly) != now.Format(time.DateOnly) {
		layout = "2006-01-02 15:04"
	}
	return t.Format(layout) + " (" + loc.String() + ")"
}

// admit claims the device for w, or says why not: another query runs on it
// (busy), or it had its share of queries this minute ("rate:" prefix).
// Listing the operations touches no device and is always admitted.
func (s *Service) admit(key string, w *waiter, now time.Time) string {
	if w.req.Op == wire.OpOperations {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, busy := s.running[key]; busy {
		return fmt.Sprintf("another query of %s is running (%s by %s, asked %s ago); try again when it has its answer",
			key, o.req.Op, o.req.Requester, now.Sub(o.sent).Round(time.Second))
	}
	recent := s.sent[key][:0]
	for _, t := range s.sent[key] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	s.sent[key] = recent
	if len(recent) >= s.o.PerMinute {
		wait := recent[0].Add(time.Minute).Sub(now).Round(time.Second)
		return fmt.Sprintf("rate:%s had %d queries in the last minute, the most the hub sends; try again in %v", key, len(recent), max(wait, time.Second))
	}
	s.sent[key] = append(recent, now)
	s.running[key] = w
	return ""
}

func (s *Service) finish(key string, w *waiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[key] == w {
		delete(s.running, key)
	}
}

// forget stops waiting for id; it reports false when an answer already
// claimed it.
func (s *Service) forget(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.pending[id]
	delete(s.pending, id)
	return ok
}

func (s *Service) audit(e store.AuditEntry, req *wire.CommandRequest, who string) (store.AuditEntry, error) {
	e.ID, e.Who, e.Tenant, e.Store, e.Agent = req.ID, who, req.Tenant, req.Store, req.Agent
	e.Device, e.Op, e.Args = req.Device, req.Op, req.Args
	return s.o.Audit.AppendAudit(e)
}

func (s *Service) auditOutcome(event string, req *wire.CommandRequest, who string, a Answer) {
	e := store.AuditEntry{At: s.clk.Now(), Event: event, OK: a.OK, Code: a.Code, Error: a.Error}
	if _, err := s.audit(e, req, who); err != nil {
		s.log.Error("remote query outcome not audited", "id", req.ID, "event", event, "err", err)
	}
}

// refuse audits a query the hub did not send.
func (s *Service) refuse(r Request, a Answer) Answer {
	req := wire.CommandRequest{Header: wire.Header{AgentID: wire.AgentID{Tenant: a.Tenant, Store: r.Store, Agent: a.Agent}},
		Device: r.Device, Op: r.Op, Args: r.Args}
	s.auditOutcome(store.AuditRefused, &req, r.Who, a)
	return a
}

// newID returns "q-ORIGIN-RANDOM".
func newID(origin string) (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "q-" + origin + "-" + hex.EncodeToString(b), nil
}
