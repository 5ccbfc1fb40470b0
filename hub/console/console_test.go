package console_test

import (
	"context"
	"fmt"
	"github.com/storewatch/storewatch/wire"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/incident"
)

const (
	engineerToken = "engineer-token-for-console"
	viewerToken   = "viewer-token-for-console"
)

// startHub runs storehub with an embedded broker on loopback ports; the
// store s0042's agent logs in with pw-42. extra is appended to hub.yaml.
func startHub(t *testing.T, extra string) (*hub.Hub, string) {
	t.Helper()
	hash, err := broker.HashPassword("pw-42", 1000)
	if err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf(`
data_dir: %s
api:
  listen: "127.0.0.1:0"
  tokens:
    - {name: jane, role: engineer, token: %s}
    - {name: wall, role: viewer, token: %s}
broker: {mode: embedded, embedded: {listen: "127.0.0.1:0"}}
agents: [{tenant: acme, store: s0042, agent: backoffice-1, password_hash: "%s"}]
%s`, t.TempDir(), engineerToken, viewerToken, hash, extra)
	cfg, err := hub.ParseConfig("hub.yaml", []byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, "http://" + h.APIAddr()
}

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so tests see them.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	return resp, string(text)
}

var hidden = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs in with token and returns the session's CSRF token.
func (b *browser) login(token string) string {
	b.t.Helper()
	_, page := b.do("GET", "/console/login", nil)
	m := hidden.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF field on the login page:\n%s", page)
	}
	resp, _ := b.do("POST", "/console/login", url.Values{"csrf": {m[1]}, "token": {token}, "next": {"/console/stores"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/stores" {
		b.t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.do("GET", "/console/maintenance", nil)
	m = hidden.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF field after login:\n%s", page)
	}
	return m[1]
}

func TestSessionsRolesAndCSRF(t *testing.T) {
	_, base := startHub(t, "")
	anon := newBrowser(t, base)
	if resp, _ := anon.do("GET", "/console/incidents?state=open", nil); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/console/login?next=%2Fconsole%2Fincidents%3Fstate%3Dopen" {
		t.Errorf("not logged in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := anon.do("POST", "/console/maintenance", url.Values{"store": {"acme/s0042"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a form without a session: %d", resp.StatusCode)
	}

	// A wrong token, and a login form posted without its cookie.
	_, page := anon.do("GET", "/console/login", nil)
	csrf := hidden.FindStringSubmatch(page)[1]
	if resp, _ := newBrowser(t, base).do("POST", "/console/login", url.Values{"csrf": {csrf}, "token": {engineerToken}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login CSRF: %d", resp.StatusCode)
	}
	resp, page := anon.do("POST", "/console/login", url.Values{"csrf": {csrf}, "token": {"not-a-token-at-all"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "not known to the hub") {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	csrf = hidden.FindStringSubmatch(page)[1] // each login form has its own

	// The session cookie is HttpOnly and SameSite=Strict.
	resp, _ = anon.do("POST", "/console/login", url.Values{"csrf": {csrf}, "token": {engineerToken}})
	set := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	if resp.StatusCode != http.StatusSeeOther ||
		!regexp.MustCompile(`storewatch_session=[^;]+; Path=/console/; Max-Age=43200; HttpOnly; SameSite=Strict`).MatchString(set) {
		t.Errorf("login: %d, cookies %s", resp.StatusCode, set)
	}

	eng := newBrowser(t, base)
	csrf = eng.login(engineerToken)
	resp, _ = eng.do("GET", "/console/incidents", nil)
	if resp.StatusCode != 200 {
		t.Errorf("after login: %d", resp.StatusCode)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}

	// Forms need the session's CSRF token, in the form or the header.
	form := url.Values{"store": {"acme/s0042"}, "duration": {"1h"}, "reason": {"refit"}}
	if resp, _ := eng.do("POST", "/console/maintenance", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", resp.StatusCode)
	}
	form.Set("csrf", "forged")
	if resp, _ := eng.do("POST", "/console/maintenance", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", resp.StatusCode)
	}
	form.Set("csrf", csrf)
	if resp, _ := eng.do("POST", "/console/maintenance", form); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("with the CSRF token: %d", resp.StatusCode)
	}
	if _, page := eng.do("GET", "/console/maintenance", nil); !strings.Contains(page, "Maintenance window added.") || !strings.Contains(page, "refit") {
		t.Errorf("the window is not listed:\n%s", page)
	}
	form.Set("duration", "forever")
	if resp, page := eng.do("POST", "/console/maintenance", form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not a positive duration") {
		t.Errorf("bad duration: %d", resp.StatusCode)
	}

	// A viewer reads but may not act; the page offers no forms.
	viewer := newBrowser(t, base)
	vcsrf := viewer.login(viewerToken)
	if _, page := viewer.do("GET", "/console/maintenance", nil); strings.Contains(page, "New window") {
		t.Error("a viewer is offered the new-window form")
	}
	form.Set("csrf", vcsrf)
	form.Set("duration", "1h")
	if resp, _ := viewer.do("POST", "/console/maintenance", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer adds a window: %d", resp.StatusCode)
	}

	// Logging out ends the session on the server, not only in the browser.
	if resp, _ := eng.do("POST", "/console/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ := eng.do("GET", "/console/stores", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d", resp.StatusCode)
	}
	if resp, _ := anon.do("GET", "/console/nothing", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
	if resp, _ := anon.do("GET", "/console/static/console.css", nil); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// The hub's own outage has no store: the console shows it as every
// store's, with no link to a store page that does not exist.
func TestHubOutageIncidentShows(t *testing.T) {
	h, base := startHub(t, "")
	err := h.Pipeline.Do(context.Background(), func(e *incident.Engine) (incident.Changes, error) {
		return e.BrokerLost(time.Now().Add(-10 * time.Minute)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	live := h.Engine.LiveIncidents()
	if len(live) != 1 || live[0].Kind != incident.KindHubOutage {
		t.Fatalf("live incidents: %+v", live)
	}
	b := newBrowser(t, base)
	b.login(viewerToken)
	for _, path := range []string{"/console/incidents", "/console/incidents/" + live[0].ID} {
		resp, page := b.do("GET", path, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "every store") || strings.Contains(page, "/console/stores//") {
			t.Errorf("%s: HTTP %d:\n%s", path, resp.StatusCode, page)
		}
	}
}

// The timeline speaks in sentences, in the hub's ticket language, and does
// not claim notifications went to a helpdesk that is not configured.
func TestTimelineInSentencesAndLanguage(t *testing.T) {
	for _, c := range []struct {
		lang, want, resolution string
	}{
		{"en", "Opened: Paper out since 2026-12-07 08:15:00 CET, longer than its hold-down of 2m. Priority P2.", "recovered by itself"},
		{"de", "Eröffnet: Papier leer seit 2026-12-07 08:15:00 CET, länger als die Haltezeit von 2m. Priorität P2.", "von selbst erholt"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			h, base := startHub(t, "tickets: {language: "+c.lang+"}\n")
			inc := incident.Incident{ID: "INC-000007", Kind: incident.KindFault, Tenant: "acme", Store: "s0042", Device: "prn1", Fault: wire.FaultPaperOut,
				State: incident.StateResolved, Resolution: incident.ResolutionRecovered, Priority: 2, OpenedAt: time.Now(), Title: "Paper out", Facts: incident.Facts{Severity: wire.SeverityError, TimeZone: "Europe/Berlin"}}
			err := h.Store.Commit(incident.Changes{Incidents: []incident.Incident{inc}, Timeline: []incident.Entry{
				{Incident: inc.ID, At: time.Now(), Kind: incident.EntryOpened, Author: "storehub", Text: "opened: paper_out since ... (hold-down 2m0s)",
					Say: incident.SayOpened, Args: map[string]string{"fault": "paper_out", "since": "2026-12-07 08:15:00 CET", "hold_down": "2m", "priority": "2"}},
				{Incident: inc.ID, At: time.Now(), Kind: incident.EntryNotification, Author: "storehub", Text: "opened notification queued for helpdesk connectors",
					Say: incident.SayNotified, Args: map[string]string{"notification": "opened"}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t, base)
			b.login(viewerToken)
			resp, page := b.do("GET", "/console/incidents/"+inc.ID, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d:\n%s", resp.StatusCode, page)
			}
			page = html.UnescapeString(page)
			for _, want := range []string{c.want, c.resolution} {
				if !strings.Contains(page, want) {
					t.Errorf("the incident page lacks %q:\n%s", want, page)
				}
			}
			for _, not := range []string{"hold_down", "recovered_by_itself", "queued for helpdesk connectors", "Handed to the helpdesk"} {
				if strings.Contains(page, not) {
					t.Errorf("the incident page says %q", not)
				}
			}
		})
	}
}
