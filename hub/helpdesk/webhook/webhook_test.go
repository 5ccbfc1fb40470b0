package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/wire"
)

// verifyStandardWebhook is a receiver's check, written from the Standard
// Webhooks specification and not from Sign: strip "whsec_", base64-
// decode the key, HMAC-SHA256 over "id.timestamp.body", compare against
// every space-separated "v1,<base64>" in webhook-signature, and refuse
// timestamps more than five minutes off.
func verifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" || ts == "" {
		return errors.New("missing webhook-id or webhook-timestamp")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return err
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp out of tolerance")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

// The published Standard Webhooks test vector, checked against both the
// signer and the independent verifier.
func TestStandardWebhooksTestVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = 1614265330
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if got := Sign(key, id, ts, []byte(body)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.Itoa(ts))
	h.Set("webhook-signature", "v1,bm9wZQ== "+want)
	if err := verifyStandardWebhook(secret, h, []byte(body), time.Unix(ts, 0)); err != nil {
		t.Errorf("the verifier refuses the published vector: %v", err)
	}
	if err := verifyStandardWebhook(secret, h, []byte(body+" "), time.Unix(ts, 0)); err == nil {
		t.Error("the verifier accepts a changed body")
	}
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

type received struct {
	header http.Header
	body   []byte
	event  Event
}

// receiver is a webhook endpoint that verifies every request; it answers
// fail (if non-zero) to the first n requests.
type receiver struct {
	mu    sync.Mutex
	got   []received
	fail  int
	n     int
	errs  []error
	reply string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := verifyStandardWebhook(testSecret, r.Header, body, time.Now()); err != nil {
		rc.errs = append(rc.errs, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if rc.n < rc.fail {
		rc.n++
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.errs = append(rc.errs, err)
	}
	rc.got = append(rc.got, received{r.Header.Clone(), body, ev})
	if rc.reply != "" && ev.Type == "incident.opened" {
		io.WriteString(w, rc.reply)
	}
}

func webhookConfig(t *testing.T, url string) helpdesk.Config {
	cfg := helpdesktest.Config(t)
	cfg.Helpdesks = []helpdesk.Helpdesk{{Name: "fsm", Type: "webhook", Settings: &Config{
		URL: url, Secret: testSecret, Headers: map[string]string{"Authorization": "Bearer partner-token"},
	}}}
	cfg.Routing.Default.Helpdesk = "fsm"
	return cfg
}

func TestWebhookDeliversSignedEvents(t *testing.T) {
	rc := &receiver{fail: 2, reply: `{"ticket_id": "FSM-881", "url": "https://fsm.example/jobs/881"}`}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := webhookConfig(t, srv.URL)
	o := helpdesktest.Open(t, cfg, helpdesk.Options{})
	in := helpdesktest.Incident("0042", "prn1", wire.FaultHeadFault)
	in.AutoClose = true
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened), helpdesktest.Note(in, tickets.Resolved))
	helpdesktest.Running(t, o)
	helpdesktest.Drained(t, o)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) > 0 {
		t.Fatalf("the receiver refused requests: %v", rc.errs)
	}
	if len(rc.got) != 2 {
		t.Fatalf("%d events delivered, want 2", len(rc.got))
	}
	opened, resolved := rc.got[0], rc.got[1]
	ext := helpdesk.ExternalID(cfg.Namespace, helpdesktest.Note(in, tickets.Opened).TicketKey())
	if opened.event.Type != "incident.opened" || resolved.event.Type != "incident.resolved" {
		t.Errorf("types %s, %s", opened.event.Type, resolved.event.Type)
	}
	d := opened.event.Data
	if d.ExternalID != ext || d.Sequence != 1 || d.Incident.Identity.Serial != "SN-0042-prn1" || !strings.Contains(d.Body, "Spare part") || d.Language != "en" {
		t.Errorf("opened data %+v", d)
	}
	r := resolved.event.Data
	if r.Sequence != 2 || r.Status != helpdesk.StatusResolved || r.Ticket == nil || r.Ticket.ID != "FSM-881" {
		t.Errorf("resolved data: seq %d status %q ticket %+v", r.Sequence, r.Status, r.Ticket)
	}
	if opened.header.Get("webhook-id") == resolved.header.Get("webhook-id") || !strings.HasPrefix(opened.header.Get("webhook-id"), ext+".") {
		t.Errorf("webhook-ids %q, %q", opened.header.Get("webhook-id"), resolved.header.Get("webhook-id"))
	}
	if opened.header.Get("Authorization") != "Bearer partner-token" {
		t.Errorf("extra header missing")
	}
	info, _, _ := o.Ticket(in.Key, "1")
	if info.Ticket.ID != "FSM-881" || info.Ticket.URL != "https://fsm.example/jobs/881" {
		t.Errorf("stored ticket %+v", info.Ticket)
	}
}

func TestWebhookRefusalIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"unknown store"}`, http.StatusBadRequest)
	}))
	defer srv.Close()
	o := helpdesktest.Open(t, webhookConfig(t, srv.URL), helpdesk.Options{})
	helpdesktest.Enqueue(t, o, helpdesktest.Note(helpdesktest.Incident("0042", "prn1", wire.FaultPaperOut), tickets.Opened))
	helpdesktest.Running(t, o)
	helpdesktest.Drained(t, o)
	dead, _ := o.DeadLetters()
	if len(dead) != 1 || !strings.Contains(dead[0].Reason, "HTTP 400") || dead[0].Attempts != 1 {
		t.Errorf("dead letters %+v", dead)
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	w, err := New(Config{URL: srv.URL, Secret: testSecret, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Open(context.Background(), helpdesk.Call{ID: "x.1", ExternalID: "x", Kind: tickets.Opened, Incident: helpdesktest.Incident("1", "p", wire.FaultPaperOut)})
	var ra *helpdesk.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 2*time.Minute || helpdesk.IsPermanent(err) {
		t.Errorf("429 with Retry-After: %v", err)
	}
}
