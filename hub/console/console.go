package console

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
)

//go:embed templates static
var embedded embed.FS

// Prefix is where the console lives.
const Prefix = api.ConsolePrefix

// Store is what the console reads from the hub's store.
type Store interface {
	Incident(id string) (incident.Incident, error)
	Incidents(f store.Filter) ([]incident.Incident, error)
	Timeline(id string) ([]incident.Entry, error)
	DeviceLog(tenant, store, device string, since time.Time, limit int) ([]incident.LogEntry, error)
}

// Engine is the live view of stores, agents and devices (maintenance
// windows come through the API's Windows, which on a cluster of replicas
// lists every partition's).
type Engine interface {
	Stores() []incident.StoreRecord
	Agents() []incident.AgentRecord
	Devices() []incident.DeviceRecord
	LiveIncidents() []incident.Incident
}

// Options configures the console.
type Options struct {
	// API authenticates tokens and runs actions and queries, so the
	// console and the API behave alike.
	API    *api.Server
	Engine Engine
	Store  Store
	Clock  clock.Clock
	Log    *slog.Logger
	// Sessions keeps the logged-in browsers; nil: in memory (one hub).
	// On a cluster of replicas the database's (SealedSessions).
	Sessions Sessions
	// Reports is what the Reports page computes from (the hub's store);
	// nil: the page says reports are not available.
	Reports reports.Source
	// Dir, if set, holds templates/ and static/ that replace the embedded
	// ones (api.console_dir), e.g. for a company's colours.
	Dir string
	// Words says the hub's identifiers (timeline entries, why an episode
	// opened nothing, how an incident ended) as sentences in Language: the
	// ticket catalog. nil: the timeline's English text, identifiers with
	// spaces.
	Words Words
	// Language is the console's language (tickets.language); "" is en.
	Language string
	// Helpdesk: a helpdesk is configured. Without one the timeline does not
	// list notifications handed to connectors that do not exist.
	Helpdesk bool
	// Display says times and durations in store time where the hub's clock
	// runs compressed (the demo: policy.Display); zero: as they are.
	Display incident.TimeScale
}

// Words is what the console needs of the ticket catalog (tickets.Catalog).
type Words interface {
	Sentence(language string, e incident.Entry) string
	ConsoleText(language, key string) string
}

// Console serves the web console.
type Console struct {
	o     Options
	clk   clock.Clock
	log   *slog.Logger
	pages map[string]*template.Template
	files fs.FS

	sessions Sessions
}

// session is the request's session, with the id its cookie carries.
type session struct {
	id string
	Session
}

const (
	cookieName      = "storewatch_session"
	loginCookieName = "storewatch_login"
	sessionLife     = 12 * time.Hour
	maxSessions     = 10000
	maxForm         = 32 << 10
)

// New parses the templates and returns the console.
func New(o Options) (*Console, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var fsys fs.FS = embedded
	if o.Dir != "" {
		fsys = os.DirFS(o.Dir)
	}
	c := &Console{o: o, clk: o.Clock, log: o.Log, pages: map[string]*template.Template{}, sessions: o.Sessions}
	if c.sessions == nil {
		c.sessions = NewMemorySessions()
	}
	var err error
	if c.files, err = fs.Sub(fsys, "static"); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	for _, page := range []string{"login", "incidents", "incident", "stores", "store", "device", "maintenance", "reports", "error", "answer", "agents"} {
		files := []string{"templates/layout.html", "templates/parts.html", "templates/" + page + ".html"}
		t, err := template.New(page).Funcs(c.funcs()).ParseFS(fsys, files...)
		if err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		c.pages[page] = t
	}
	return c, nil
}

// route is one console page or form.
type route struct {
	pattern string
	role    api.Role // 0: no login needed
	handle  func(*Console, http.ResponseWriter, *http.Request, *session)
}

var routes = []route{
	{"GET /console/{$}", 0, (*Console).home},
	{"GET /console/login", 0, (*Console).loginPage},
	{"POST /console/login", 0, (*Console).login},
	{"POST /console/logout", api.Viewer, (*Console).logout},
	{"GET /console/incidents", api.Viewer, (*Console).incidents},
	{"GET /console/incidents/{id}", api.Viewer, (*Console).incident},
	{"POST /console/incidents/{id}/{action}", api.Engineer, (*Console).act},
	{"GET /console/stores", api.Viewer, (*Console).stores},
	{"GET /console/agents", api.Viewer, (*Console).agents},
	{"POST /console/stores/{tenant}/{store}/found", api.Engineer, (*Console).addFound},
	{"GET /console/stores/{tenant}/{store}", api.Viewer, (*Console).store},
	{"GET /console/stores/{tenant}/{store}/devices/{device}", api.Viewer, (*Console).device},
	{"POST /console/stores/{tenant}/{store}/devices/{device}/query", api.Engineer, (*Console).query},
	{"GET /console/maintenance", api.Viewer, (*Console).maintenance},
	{"POST /console/maintenance", api.Engineer, (*Console).addWindow},
	{"POST /console/maintenance/{id}/delete", api.Engineer, (*Console).deleteWindow},
	{"GET /console/reports", api.Viewer, (*Console).reports},
	{"GET /console/reports/{file}", api.Viewer, (*Console).reportCSV},
}

// Handler returns the console's handler, for everything under Prefix.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		rt := rt
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			c.serve(w, r, rt)
		})
	}
	static := http.StripPrefix(Prefix+"static/", http.FileServerFS(c.files))
	mux.Handle("GET "+Prefix+"static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		static.ServeHTTP(w, r)
	}))
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		c.errorPage(w, r, c.current(r), http.StatusNotFound, "There is no such page in the console.")
	})
	return mux
}

// securityHeaders: no inline script or style, no framing, no sniffing, and
// nothing loaded from anywhere but the hub.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

func (c *Console) serve(w http.ResponseWriter, r *http.Request, rt route) {
	securityHeaders(w)
	w.Header().Set("Cache-Control", "no-store")
	s := c.current(r)
	if rt.role == 0 {
		rt.handle(c, w, r, s)
		return
	}
	if s == nil {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		c.errorPage(w, r, nil, http.StatusUnauthorized, "Your session has ended. Log in again.")
		return
	}
	if s.Role < rt.role {
		c.errorPage(w, r, s, http.StatusForbidden, "Your token may not do this; it needs the engineer role.")
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			c.errorPage(w, r, s, http.StatusBadRequest, "The form could not be read.")
			return
		}
		tok := r.Header.Get("X-CSRF-Token")
		if tok == "" {
			tok = r.PostForm.Get("csrf")
		}
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.CSRF)) != 1 {
			c.errorPage(w, r, s, http.StatusForbidden, "The form was not sent from this console (missing or stale security token). Reload the page and try again.")
			return
		}
	}
	rt.handle(c, w, r, s)
}

// current returns the request's live session, or nil.
func (c *Console) current(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s, ok := c.sessions.Get(ck.Value, c.clk.Now())
	if !ok {
		return nil
	}
	return &session{id: ck.Value, Session: s}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookie sets an HttpOnly, SameSite=Strict cookie for the console's path;
// Secure when the hub serves HTTPS.
func cookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

func (c *Console) startSession(w http.ResponseWriter, r *http.Request, name string, role api.Role, token string) error {
	id := randomToken()
	s := Session{Name: name, Role: role, Auth: "Bearer " + token, CSRF: randomToken(), Expires: c.clk.Now().Add(sessionLife)}
	if err := c.sessions.Put(id, s); err != nil {
		return err
	}
	cookie(w, r, cookieName, id, int(sessionLife.Seconds()))
	return nil
}

func (c *Console) endSession(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(cookieName); err == nil {
		if err := c.sessions.Delete(ck.Value); err != nil {
			c.log.Warn("console: ending a session", "err", err)
		}
	}
	cookie(w, r, cookieName, "", -1)
}

// flash keeps a message for the session's next page.
func (c *Console) flash(s *session, msg string) {
	s.Flash = msg
	if err := c.sessions.Put(s.id, s.Session); err != nil {
		c.log.Warn("console: keeping a message for the next page", "err", err)
	}
}

func (c *Console) takeFlash(s *session) string {
	if s == nil || s.Flash == "" {
		return ""
	}
	m := s.Flash
	s.Flash = ""
	if err := c.sessions.Put(s.id, s.Session); err != nil {
		c.log.Warn("console: a message shown", "err", err)
	}
	return m
}

// Page is what every template gets.
type Page struct {
	Title    string
	Nav      string // the active navigation entry
	User     string
	Role     string
	Engineer bool
	CSRF     string
	Flash    string
	Now      time.Time
	Data     any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, tmpl, title, nav string, data any) {
	p := Page{Title: title, Nav: nav, Now: c.clk.Now(), Data: data, Flash: c.takeFlash(s)}
	if s != nil {
		p.User, p.CSRF, p.Engineer = s.Name, s.CSRF, s.Role >= api.Engineer
		p.Role = map[api.Role]string{api.Viewer: "viewer", api.Engineer: "engineer", api.Admin: "admin"}[s.Role]
	}
	t, ok := c.pages[tmpl]
	if !ok {
		http.Error(w, "no template "+tmpl, http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	name := "layout"
	if tmpl == "answer" {
		name = "answer"
	}
	if err := t.ExecuteTemplate(&b, name, p); err != nil {
		c.log.Error("console template", "page", tmpl, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	c.render(w, r, s, status, "error", http.StatusText(status), "", msg)
}

// failed answers a store or action error.
func (c *Console) failed(w http.ResponseWriter, r *http.Request, s *session, err error) {
	c.errorPage(w, r, s, api.ActionStatus(err), err.Error())
}
