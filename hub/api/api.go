package api

import (
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/ingest"
	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
)

//go:embed openapi.json
var openapi []byte

// Prefix is where the JSON API lives; ConsolePrefix is reserved for the web
// console.
const (
	Prefix        = "/api/v1"
	ConsolePrefix = "/console/"
	maxBody       = 64 << 10
)

// Role is what a token may do.
type Role int

// Roles, weakest first.
const (
	Viewer Role = iota + 1
	Engineer
	Admin
)

// ParseRole reads viewer, engineer or admin.
func ParseRole(s string) (Role, bool) {
	switch s {
	case "viewer":
		return Viewer, true
	case "engineer":
		return Engineer, true
	case "admin":
		return Admin, true
	}
	return 0, false
}

type principal struct {
	name string
	role Role
}

// Server serves the API.
type Server struct {
	eng      *incident.Engine
	dir      Directory
	pipe     *ingest.Pipeline
	st       Store
	clk      clock.Clock
	log      *slog.Logger
	tokens   map[[32]byte]principal
	reg      *prometheus.Registry
	desk     DeadLetters
	q        Querier
	auditLog AuditLister
	display  incident.TimeScale
	enrol    Enroller
	profiles Profiler
	route    Router
	client   *http.Client
}

// Store is what the API reads from the hub's store, and writes to it
// (comments on any incident); reports read their reports.Source.
type Store interface {
	reports.Source
	// Incidents lists matching incidents, newest first.
	Incidents(f store.Filter) ([]incident.Incident, error)
	Timeline(id string) ([]incident.Entry, error)
	AppendTimeline(e incident.Entry) error
	Notifications(after uint64, limit int) ([]incident.Notification, error)
	Log(from, to time.Time, limit int) ([]incident.LogEntry, error)
}

// Options configures a Server.
type Options struct {
	Engine   *incident.Engine
	Pipeline *ingest.Pipeline
	Store    Store
	Clock    clock.Clock
	Log      *slog.Logger
	Tokens   []Token
	Registry *prometheus.Registry
	// DeadLetters is the helpdesk outbox; nil without external helpdesks.
	DeadLetters DeadLetters
	// Query runs remote queries and Audit lists their audit trail; without
	// them the query route answers that queries are not set up.
	Query Querier
	Audit AuditLister
	// Display is the store clock of a hub whose time runs compressed (the
	// demo: policy.Display); /healthz tells it to clients, so that they say
	// times as the console does.
	Display incident.TimeScale
	// Enrol takes enrolments and manages their tokens and the enrolled
	// agents; nil: enrolment routes answer that it is not set up.
	Enrol Enroller
	// Profiles keeps device profiles; nil: their routes answer 503.
	Profiles Profiler
	// Router sends incident actions and maintenance windows to the engine
	// of their store's partition on a cluster of replicas; nil: Pipeline.
	Router Router
	// Directory lists stores, agents and devices: on a cluster of
	// replicas the database's, not this replica's engine; nil: Engine.
	Directory Directory
	// Client forwards actions to other replicas; nil: a client with a 30 s
	// timeout.
	Client *http.Client
}

// Directory lists stores, agents and devices (the engine, or on a cluster
// the database's).
type Directory interface {
	Stores() []incident.StoreRecord
	Agents() []incident.AgentRecord
	Devices() []incident.DeviceRecord
}

// New returns the API server.
func New(o Options) (*Server, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{eng: o.Engine, pipe: o.Pipeline, st: o.Store, clk: o.Clock, log: o.Log, tokens: map[[32]byte]principal{}, reg: o.Registry,
		desk: o.DeadLetters, q: o.Query, auditLog: o.Audit, display: o.Display, enrol: o.Enrol, profiles: o.Profiles,
		route: o.Router, client: o.Client, dir: o.Directory}
	if s.dir == nil && o.Engine != nil {
		s.dir = o.Engine
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 30 * time.Second}
	}
	for _, t := range o.Tokens {
		role, ok := ParseRole(t.Role)
		if !ok {
			return nil, errors.New("api: token " + t.Name + ": unknown role " + t.Role)
		}
		var h [32]byte
		if t.Token != "" {
			h = sha256.Sum256([]byte(t.Token))
		} else {
			b, err := hex.DecodeString(t.TokenSHA256)
			if err != nil || len(b) != 32 {
				return nil, errors.New("api: token " + t.Name + ": bad token_sha256")
			}
			copy(h[:], b)
		}
		s.tokens[h] = principal{t.Name, role}
	}
	return s, nil
}

type route struct {
	method, path string
	role         Role     // 0: no token needed
	params       []string // accepted query parameters
	handle       func(*Server, http.ResponseWriter, *http.Request, principal)
}

// routes is the API; the OpenAPI document must list exactly these.
var routes = []route{
	{"GET", "/api/openapi.json", 0, nil, (*Server).openapi},
	{"GET", "/healthz", 0, nil, (*Server).health},
	{"GET", Prefix + "/stores", Viewer, storeParams, (*Server).stores},
	{"GET", Prefix + "/agents", Viewer, agentParams, (*Server).agents},
	{"GET", Prefix + "/devices", Viewer, deviceParams, (*Server).devices},
	{"GET", Prefix + "/incidents", Viewer, incidentParams, (*Server).incidents},
	{"GET", Prefix + "/incidents/{id}", Viewer, nil, (*Server).incident},
	{"POST", Prefix + "/incidents/{id}/acknowledge", Engineer, nil, (*Server).acknowledge},
	{"POST", Prefix + "/incidents/{id}/comments", Engineer, nil, (*Server).comment},
	{"POST", Prefix + "/incidents/{id}/close", Engineer, nil, (*Server).close},
	{"GET", Prefix + "/maintenance", Viewer, windowParams, (*Server).windows},
	{"POST", Prefix + "/maintenance", Engineer, nil, (*Server).addWindow},
	{"DELETE", Prefix + "/maintenance/{id}", Engineer, nil, (*Server).deleteWindow},
	{"GET", Prefix + "/rejected", Admin, nil, (*Server).rejected},
	{"GET", Prefix + "/notifications", Admin, notifyParams, (*Server).notifications},
	{"GET", Prefix + "/log", Viewer, logParams, (*Server).eventLog},
	{"POST", Prefix + "/stores/{store}/devices/{device}/query", Engineer, queryParams, (*Server).query},
	{"GET", Prefix + "/audit", Admin, auditParams, (*Server).audit},
	{"GET", Prefix + "/reports", Viewer, reportParams, (*Server).report},
	{"GET", Prefix + "/reports/{file}", Viewer, reportParams, (*Server).reportCSV},
}

// Handler returns the HTTP handler with every route, /metrics and the
// console placeholder.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		rt := rt
		mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			p, ok := s.authorize(w, r, rt.role)
			if !ok {
				return
			}
			rt.handle(s, w, withCaller(r), p)
		})
	}
	if s.reg != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	}
	// The Go runtime's profiles (CPU, heap, goroutines), for an operator
	// asking why a hub is slow or large: admin tokens only, as a profile
	// shows the process's inner workings. Listed explicitly, not through
	// net/http/pprof's DefaultServeMux registration.
	for _, p := range []struct {
		path string
		h    http.HandlerFunc
	}{
		{"/debug/pprof/", pprof.Index}, // and every named profile: heap, goroutine, allocs, ...
		{"/debug/pprof/cmdline", pprof.Cmdline},
		{"/debug/pprof/profile", pprof.Profile},
		{"/debug/pprof/symbol", pprof.Symbol},
		{"/debug/pprof/trace", pprof.Trace},
	} {
		mux.HandleFunc("GET "+p.path, func(w http.ResponseWriter, r *http.Request) {
			if _, ok := s.authorize(w, r, Admin); ok {
				p.h(w, r)
			}
		})
	}
	mux.HandleFunc(ConsolePrefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotImplemented, "the web console is not part of this version; use the API under "+Prefix)
	})
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint; see /api/openapi.json")
	})
	return mux
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request, need Role) (principal, bool) {
	if need == 0 {
		return principal{name: "anonymous"}, true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="storehub"`)
		writeError(w, http.StatusUnauthorized, "a bearer token is required")
		return principal{}, false
	}
	found := s.lookup(tok)
	if found.role == 0 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="storehub", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unknown token")
		return principal{}, false
	}
	if found.role < need {
		writeError(w, http.StatusForbidden, "this needs a more privileged token")
		return principal{}, false
	}
	return found, true
}

func (s *Server) lookup(tok string) principal {
	h := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	var found principal
	for k, p := range s.tokens { // constant time per candidate
		if subtle.ConstantTimeCompare(k[:], h[:]) == 1 {
			found = p
		}
	}
	return found
}

// Authenticate returns the name and role of a token (the console logs in
// with the same tokens as the API).
func (s *Server) Authenticate(token string) (name string, role Role, ok bool) {
	p := s.lookup(token)
	return p.name, p.role, p.role != 0
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, Error{msg})
}

func body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body too large")
		return nil, false
	}
	return b, true
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request, _ principal) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapi)
}

// Health is what /healthz answers.
type Health struct {
	Status string `json:"status"` // ok
	// StoreClock is set when the hub's clock runs compressed (the demo):
	// times are said as StoreClock.At of them.
	StoreClock *StoreClock `json:"store_clock,omitempty"`
}

// StoreClock is incident.TimeScale on the wire.
type StoreClock struct {
	Origin      time.Time `json:"origin"`
	StoreOrigin time.Time `json:"store_origin"`
	Speed       float64   `json:"speed"`
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request, _ principal) {
	h := Health{Status: "ok"}
	if d := s.display; d.Speed > 1 {
		h.StoreClock = &StoreClock{d.Origin.UTC(), d.StoreOrigin.UTC(), d.Speed}
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) stores(w http.ResponseWriter, r *http.Request, _ principal) {
	if err := known(r.URL.Query(), storeParams...); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	tenant := r.URL.Query().Get("tenant")
	out := []incident.StoreRecord{}
	for _, st := range s.dir.Stores() {
		if tenant == "" || st.Tenant == tenant {
			out = append(out, st)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) agents(w http.ResponseWriter, r *http.Request, _ principal) {
	q := r.URL.Query()
	if err := known(q, agentParams...); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f := FleetFilter{Tenant: q.Get("tenant"), Store: q.Get("store")}
	for name, dst := range map[string]**bool{"online": &f.Online, "behind": &f.Behind} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, name+": want true or false")
				return
			}
			*dst = &b
		}
	}
	out, err := s.Fleet(f)
	writeList(w, out, err)
}

func (s *Server) devices(w http.ResponseWriter, r *http.Request, _ principal) {
	f, err := ParseDeviceFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var list []incident.DeviceRecord
	if sd, ok := s.dir.(storeDevices); ok && f.Store != "" {
		if list, err = sd.StoreDevices(f.Tenant, f.Store); err != nil {
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the devices of store %s cannot be read: %v", f.Store, err))
			return
		}
	} else {
		list = s.dir.Devices()
	}
	out := []incident.DeviceRecord{}
	for _, d := range list {
		if f.Match(d) {
			out = append(out, d)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// storeDevices is what a directory that reads one store by key offers
// (hub/directory.go, the query.Directory seam): a listing of one store's
// devices, filtered by store, reads that store, not the whole fleet (on a
// replica at 30,000 stores, 900,000 rows).
type storeDevices interface {
	StoreDevices(tenant, store string) ([]incident.DeviceRecord, error)
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request, _ principal) {
	f, err := ParseIncidentFilter(r.URL.Query(), s.clk.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := s.st.Incidents(f)
	writeList(w, out, err)
}

// writeList answers a listing from the store: [] rather than null when
// empty, 500 when the store failed.
func writeList[T any](w http.ResponseWriter, xs []T, err error) {
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if xs == nil {
		xs = []T{}
	}
	writeJSON(w, http.StatusOK, xs)
}

// Detail is an incident with its timeline.
type Detail struct {
	Incident incident.Incident `json:"incident"`
	Timeline []incident.Entry  `json:"timeline"`
}

// storeError answers a failed store call about incident id: 404 for an
// unknown incident, 500 otherwise. It reports whether it answered.
func storeError(w http.ResponseWriter, id string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no incident "+id)
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
	return true
}

func (s *Server) detail(w http.ResponseWriter, id string, status int) {
	inc, err := s.st.Incident(id)
	if storeError(w, id, err) {
		return
	}
	tl, err := s.st.Timeline(id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, status, Detail{inc, tl})
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request, _ principal) {
	s.detail(w, r.PathValue("id"), http.StatusOK)
}

// act answers an incident action with the incident afterwards.
func (s *Server) act(w http.ResponseWriter, id string, err error) {
	if err != nil {
		writeActionError(w, err)
		return
	}
	s.detail(w, id, http.StatusOK)
}

func (s *Server) acknowledge(w http.ResponseWriter, r *http.Request, p principal) {
	s.act(w, r.PathValue("id"), s.Acknowledge(r.Context(), r.PathValue("id"), p.name))
}

// textBody reads a comment or close body, answering the error itself.
func textBody(w http.ResponseWriter, r *http.Request, required bool) (string, bool) {
	b, ok := body(w, r)
	if !ok {
		return "", false
	}
	text, err := ParseText(b, required)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return text, true
}

func (s *Server) comment(w http.ResponseWriter, r *http.Request, p principal) {
	text, ok := textBody(w, r, true)
	if !ok {
		return
	}
	s.act(w, r.PathValue("id"), s.Comment(r.Context(), r.PathValue("id"), p.name, text))
}

func (s *Server) close(w http.ResponseWriter, r *http.Request, p principal) {
	text, ok := textBody(w, r, false)
	if !ok {
		return
	}
	s.act(w, r.PathValue("id"), s.Close(r.Context(), r.PathValue("id"), p.name, text))
}

func (s *Server) windows(w http.ResponseWriter, r *http.Request, _ principal) {
	q := r.URL.Query()
	if err := known(q, windowParams...); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	all, err := s.Windows()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := []incident.Window{}
	for _, x := range all {
		if (q.Get("tenant") == "" || x.Tenant == q.Get("tenant")) && (q.Get("store") == "" || x.Store == q.Get("store")) {
			out = append(out, x)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) addWindow(w http.ResponseWriter, r *http.Request, p principal) {
	b, ok := body(w, r)
	if !ok {
		return
	}
	win, err := ParseWindow(b, s.clk.Now(), p.name)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	added, err := s.AddWindow(r.Context(), win)
	if err != nil {
		writeActionError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, added)
}

func (s *Server) deleteWindow(w http.ResponseWriter, r *http.Request, _ principal) {
	if err := s.DeleteWindow(r.Context(), r.PathValue("id")); err != nil {
		writeActionError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rejected(w http.ResponseWriter, _ *http.Request, _ principal) {
	writeJSON(w, http.StatusOK, s.pipe.Rejected())
}

func (s *Server) notifications(w http.ResponseWriter, r *http.Request, _ principal) {
	q := r.URL.Query()
	if err := known(q, notifyParams...); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "after: want a sequence number")
			return
		}
		after = n
	}
	n, err := limit(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := s.st.Notifications(after, n)
	writeList(w, out, err)
}

func (s *Server) eventLog(w http.ResponseWriter, r *http.Request, _ principal) {
	q := r.URL.Query()
	from, to, n, err := ParseLogRange(q, s.clk.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := s.st.Log(from, to, n)
	writeList(w, out, err)
}

// ParseLogRange reads from/to/limit of GET /api/v1/log; from defaults to 24h
// before now and to to now.
func ParseLogRange(q map[string][]string, now time.Time) (from, to time.Time, n int, err error) {
	if err = known(q, logParams...); err != nil {
		return
	}
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if from, err = ParseTime(get("from"), now); err != nil {
		err = errors.New("from: " + err.Error())
		return
	}
	if to, err = ParseTime(get("to"), now); err != nil {
		err = errors.New("to: " + err.Error())
		return
	}
	if from.IsZero() {
		from = now.Add(-24 * time.Hour)
	}
	if to.IsZero() {
		to = now.Add(time.Second)
	}
	if !to.After(from) {
		err = errors.New("to must be after from")
		return
	}
	n, err = limit(q)
	return
}
