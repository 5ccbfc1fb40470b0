package hub

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/helpdesk/redmine"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// receiver is a dispatch partner's webhook endpoint. It checks every call's
// Standard Webhooks signature on its own (HMAC-SHA256 over
// id.timestamp.body with the secret's key), accepts or refuses as told, and
// answers the opening call with its ticket number.
type receiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server

	mu       sync.Mutex
	down     bool
	accepted []received
	refused  []string // webhook-ids answered 503
}

type received struct {
	id    string // webhook-id
	event struct {
		Type string `json:"type"`
		Data struct {
			ExternalID string `json:"external_id"`
			Sequence   int    `json:"sequence"`
			Occurrence string `json:"occurrence"`
			Status     string `json:"status"`
			Ticket     *struct {
				ID string `json:"id"`
			} `json:"ticket"`
			Title    string `json:"title"`
			Body     string `json:"body"`
			Language string `json:"language"`
			Incident struct {
				Key            string `json:"key"`
				DeviceCount30d int    `json:"device_count_30d"`
				ModelCount30d  int    `json:"model_count_30d"`
				AutoClose      bool   `json:"auto_close"`
				URL            string `json:"url"`
			} `json:"incident"`
		} `json:"data"`
	}
}

func newReceiver(t *testing.T) *receiver {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, secret: "whsec_" + base64.StdEncoding.EncodeToString(key)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// verify is the receiver's own check of a Standard Webhooks signature.
func (r *receiver) verify(h http.Header, body []byte) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return fmt.Errorf("webhook-id %q, webhook-timestamp %q", id, ts)
	}
	if d := time.Since(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s is %v off", ts, d)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(sigs) {
		if v, sig, _ := strings.Cut(s, ","); v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("no valid v1 signature in %q", sigs)
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := r.verify(req.Header, body); err != nil {
		r.t.Errorf("webhook signature: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var got received
	got.id = req.Header.Get("webhook-id")
	if err := json.Unmarshal(body, &got.event); err != nil {
		r.t.Errorf("webhook body: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		r.refused = append(r.refused, got.id)
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	r.accepted = append(r.accepted, got)
	if got.event.Type == "incident.opened" {
		fmt.Fprintf(w, `{"ticket_id": "FSM-%d", "url": "https://fsm.example/jobs/%d"}`, len(r.accepted), len(r.accepted))
	}
}

func (r *receiver) calls() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.accepted...)
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

func (r *receiver) refusals() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.refused...)
}

// A printer runs out of paper in a store whose tickets are in German: the
// hub opens an incident and the dispatch partner gets exactly one signed
// call with a ticket first-line support can act on. The partner is down
// when the printer recovers, and the hub restarts meanwhile: the resolve
// arrives once when the partner is back, as the same call.
func TestFaultReachesAWebhookHelpdeskOnceAcrossARestart(t *testing.T) {
	rcv := newReceiver(t)
	hash, _ := broker.HashPassword("pw-42", 1000)
	y := fmt.Sprintf(`
data_dir: %s
api: {listen: "127.0.0.1:0", public_url: "https://hub.example.com", tokens: [{name: jane, role: admin, token: %s}]}
broker: {mode: embedded, embedded: {listen: "127.0.0.1:0"}}
agents: [{tenant: acme, store: s0042, agent: backoffice, password_hash: "%s"}]
policy: {rules: {paper_out: {hold_down: 0s, hold_up: 0s}}}
tickets:
  tenants:
    acme: {language: en, stores: {s0042: de}}
helpdesk:
  namespace: e2e
  helpdesks:
    - name: fsm
      type: webhook
      webhook: {url: %q, secret: %q}
  routing:
    default: {helpdesk: fsm}
  outbox: {retry_min: 20ms, retry_max: 100ms, update_interval: 1ms, sync_interval: -1s}
`, t.TempDir(), token, hash, rcv.srv.URL, rcv.secret)
	h := startYAML(t, y)
	a, err := dial(t, h, "acme-s0042-backoffice", "pw-42", s42)
	check(t, err)
	must := func(err error) { check(t, err) }
	must(a.send(wire.ChannelStatus, &wire.Status{Header: a.header(0), State: wire.PresenceOnline}, true))
	must(a.send(wire.ChannelInventory, &wire.Inventory{Header: a.header(0),
		StoreInfo: wire.StoreInfo{Name: "Acme Berlin Mitte", Address: "Invalidenstr. 1, 10115 Berlin", Country: "DE", TimeZone: "Europe/Berlin"},
		Devices: []wire.DeviceInfo{{ID: "receipt-lane3", Kind: "receipt_printer", Driver: "escpos", Location: "Kasse 3",
			Identity: &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: "X5E1234567", Firmware: "30.01"}}}}, true))
	must(a.event("receipt-lane3", wire.FaultPaperOut))

	testenv.WaitFor(t, 15*time.Second, "the webhook call for the new incident", func() bool { return len(rcv.calls()) == 1 })
	inc := incidents(t, h, "?store=s0042")[0]
	open := rcv.calls()[0]
	d := open.event.Data
	if open.event.Type != "incident.opened" || d.Sequence != 1 || d.Occurrence != inc.ID || d.Language != "de" || d.Ticket != nil {
		t.Errorf("opening call: %s sequence %d occurrence %s language %s", open.event.Type, d.Sequence, d.Occurrence, d.Language)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	local := func(at time.Time) string { return at.In(berlin).Format("2006-01-02 15:04 MST") }
	for _, want := range []string{
		"Filiale:       Acme Berlin Mitte (s0042)",
		"Adresse:       Invalidenstr. 1, 10115 Berlin",
		"Standort:      Kasse 3",
		"Modell:        TM-T88VI",
		"Seriennummer:  X5E1234567",
		"Störung:       Papier leer (paper_out)",
		"Bedeutung:     Das Papier oder Etikettenmaterial ist aufgebraucht.",
		"Eine neue Papierrolle einlegen",
		"Zuerst gesehen: " + local(inc.FirstSeen) + " Ortszeit",
		"Letzte 30 Tage: 1-mal an diesem Gerät, 1-mal an Geräten des Modells TM-T88VI",
		"SLA fällig:    " + local(inc.ResolutionDue) + " Ortszeit",
		"Vorfall in storewatch: https://hub.example.com/console/incidents/" + inc.ID,
	} {
		if !strings.Contains(d.Body, want) {
			t.Errorf("the ticket lacks %q:\n%s", want, d.Body)
		}
	}
	if !strings.HasPrefix(d.Title, "Papier leer") || d.Incident.Key != inc.Key || !d.Incident.AutoClose {
		t.Errorf("title %q, incident %+v", d.Title, d.Incident)
	}

	// The partner's ticket number shows on the incident and its timeline.
	var detail api.Detail
	testenv.WaitFor(t, 10*time.Second, "the partner's ticket on the incident", func() bool {
		get(t, h, "/api/v1/incidents/"+inc.ID, &detail)
		return detail.Incident.Helpdesk != nil
	})
	if hd := detail.Incident.Helpdesk; hd.Helpdesk != "fsm" || hd.ID != "FSM-1" || hd.URL != "https://fsm.example/jobs/1" {
		t.Errorf("incident's ticket: %+v", hd)
	}
	if e := detail.Timeline[len(detail.Timeline)-1]; e.Kind != incident.EntryHelpdesk || !strings.Contains(e.Text, "fsm FSM-1") {
		t.Errorf("last timeline entry: %+v", e)
	}

	// The partner goes down; the printer gets paper; the hub keeps trying.
	rcv.setDown(true)
	must(a.event("receipt-lane3"))
	testenv.WaitFor(t, 15*time.Second, "the resolve to be refused", func() bool { return len(rcv.refusals()) > 0 })
	a.c.Disconnect(100)
	must(h.Close())

	rcv.setDown(false)
	h2 := startYAML(t, y)
	testenv.WaitFor(t, 15*time.Second, "the resolve after the restart", func() bool { return len(rcv.calls()) == 2 })
	res := rcv.calls()[1]
	r := res.event.Data
	if res.event.Type != "incident.resolved" || r.Status != "resolved" || r.Sequence != 2 || r.ExternalID != d.ExternalID ||
		r.Ticket == nil || r.Ticket.ID != "FSM-1" || !strings.HasPrefix(r.Title, "Behoben: ") {
		t.Errorf("resolve: %s status %q sequence %d ticket %+v title %q", res.event.Type, r.Status, r.Sequence, r.Ticket, r.Title)
	}
	if res.id != rcv.refusals()[0] || res.id == open.id {
		t.Errorf("the resolve after the restart is webhook-id %s; the refused one was %s", res.id, rcv.refusals()[0])
	}
	if got := incidents(t, h2, ""); len(got) != 1 || got[0].State != incident.StateResolved || got[0].Helpdesk == nil {
		t.Errorf("incidents after the restart: %+v", got)
	}
	// Nothing more comes: not the opening call again, not the resolve again.
	var dead []json.RawMessage
	get(t, h2, "/api/v1/helpdesk/dead-letters", &dead)
	testenv.WaitFor(t, 10*time.Second, "the outbox to be empty", func() bool { return h2.Helpdesk.Pending() == 0 })
	cur, _ := h2.Store.Cursor("helpdesk")
	last, _ := h2.Store.Notifications(cur, 10)
	if len(rcv.calls()) != 2 || len(dead) != 0 || len(last) != 0 {
		t.Errorf("%d calls, %d dead letters, %d notifications after the cursor; want 2, 0, 0", len(rcv.calls()), len(dead), len(last))
	}
}

// Without a helpdesk: section nothing of it runs: no outbox file, an empty
// dead-letter list, and tickets stay in the built-in list.
func TestNoHelpdeskSectionKeepsTheBuiltInTicketList(t *testing.T) {
	h := startHub(t)
	if h.Helpdesk != nil {
		t.Fatal("a helpdesk outbox runs without a helpdesk: section")
	}
	var dead []json.RawMessage
	if code := get(t, h, "/api/v1/helpdesk/dead-letters", &dead); code != 200 || len(dead) != 0 {
		t.Errorf("dead letters: HTTP %d %v", code, dead)
	}
	if cur, err := h.Store.Cursor("helpdesk"); err != nil || cur != 0 {
		t.Errorf("helpdesk cursor %d (%v): nothing should consume the stream", cur, err)
	}
}

func TestHelpdeskSectionMistakesStopTheHubWithTheirLines(t *testing.T) {
	y := fmt.Sprintf(`data_dir: %s
agents: [{tenant: acme, store: s1, agent: a1, password_hash: "$7$1$AA==$AA=="}]
helpdesk:
  helpdesks:
    - name: rm
      type: redmine
      redmine: {url: "ftp://redmine", api_key: k, project: p, tracker_id: 1, custom_fields: {external_id: 1}, statuses: {resolved: 3, closed: 5}}
  routing: {default: {helpdesk: rn}}
tickets:
  language: english
`, t.TempDir())
	_, err := ParseConfig("hub.yaml", []byte(y), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("a broken helpdesk section was accepted")
	}
	for _, want := range []string{
		`hub.yaml:7: helpdesk.helpdesks[0].redmine.url: "ftp://redmine": want an http:// or https:// URL`,
		`hub.yaml:8: helpdesk.routing.default.helpdesk: no helpdesk named "rn"`,
		`hub.yaml:10: tickets.language: "english" is not a language code`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant a line %q", err, want)
		}
	}
}

// check stops the test at an error.
func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The example configuration's commented tickets: and helpdesk: sections,
// uncommented, are a valid configuration.
func TestExampleHelpdeskSectionsAreValid(t *testing.T) {
	data, err := os.ReadFile("../packaging/examples/hub.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if line == "# tickets:" || line == "# helpdesk:" {
			in = true
		}
		if line == "" {
			in = false
		}
		if in {
			line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		}
		out = append(out, line)
	}
	env := map[string]string{
		"STOREHUB_VIEWER_TOKEN": "viewer-token-0123456789", "STOREHUB_ENGINEER_TOKEN": "engineer-token-0123456789",
		"STOREHUB_MQTT_PASSWORD": "pw", "REDMINE_API_KEY": "0123456789abcdef", "SMTP_PASSWORD": "pw",
		"FSM_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
	cfg, err := ParseConfig("hub.yaml", []byte(strings.Join(out, "\n")), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("the example's helpdesk sections:\n%v", err)
	}
	tc, hc := cfg.Tickets, cfg.Helpdesk
	if hc == nil || len(hc.Helpdesks) != 3 || len(hc.Routing.Rules) != 2 || hc.Helpdesks[0].Settings.(*redmine.Config).APIKey != env["REDMINE_API_KEY"] ||
		hc.Outbox.Path != "/var/lib/storehub/helpdesk.db" || tc.Tenants["acme"].Stores["s0043"] != "ru" {
		t.Errorf("helpdesk %+v, tickets %+v", hc, tc)
	}
}
