package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/tickets"
)

// Connector posts every call as JSON to one URL, signed per the Standard
// Webhooks scheme, so Zammad, GLPI, Jira automation or a dispatch partner's
// field-service system can take incidents. The payload is documented in
// docs/md.
//
// webhook-id is the call's id: the same on every retry of one call, so the
// receiver can drop repeats. webhook-timestamp is the attempt's time, and
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>" with the
// base64-decoded part of the "whsec_" secret as key.
type Connector struct {
	cfg    Config
	key    []byte
	client *http.Client
	now    func() time.Time
}

// New builds the connector from validated settings.
func New(cfg Config) (*Connector, error) {
	key, err := decodeSecret(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	return &Connector{cfg: cfg, key: key, client: &http.Client{Timeout: cfg.Timeout}, now: time.Now}, nil
}

// Event is the JSON body of a webhook call, following the Standard
// Webhooks payload shape (type, timestamp, data).
type Event struct {
	Type      string    `json:"type"` // incident.opened, incident.updated, incident.resolved, ...
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Data is the event's content.
type Data struct {
	ExternalID string               `json:"external_id"` // stable per ticket: the receiver's idempotency key for creation
	Sequence   int                  `json:"sequence"`    // 1 for the call that opens the ticket, counting up per ticket
	Occurrence string               `json:"occurrence"`
	Status     helpdesk.Status      `json:"status,omitempty"` // resolved or closed when the ticket should change state
	Ticket     *helpdesk.Ticket     `json:"ticket,omitempty"` // the receiver's ticket, when it told us one
	Title      string               `json:"title"`
	Body       string               `json:"body"`
	Language   string               `json:"language"`
	Route      helpdesk.Destination `json:"route"`
	Incident   tickets.Brief        `json:"incident"`
}

// webhookReply is what a receiver may answer to a call that opens a ticket,
// so later calls (and people) can refer to its ticket.
type webhookReply struct {
	TicketID string `json:"ticket_id"`
	URL      string `json:"url"`
}

// Open posts the opening call; the ticket is the receiver's if it answered
// {"ticket_id": ...}, else the external id.
func (w *Connector) Open(ctx context.Context, c helpdesk.Call) (helpdesk.Ticket, error) {
	body, err := w.send(ctx, c, nil)
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	var reply webhookReply
	if json.Unmarshal(body, &reply) == nil && reply.TicketID != "" {
		return helpdesk.Ticket{ID: reply.TicketID, URL: reply.URL}, nil
	}
	return helpdesk.Ticket{ID: c.ExternalID}, nil
}

// Post posts a later call.
func (w *Connector) Post(ctx context.Context, t helpdesk.Ticket, c helpdesk.Call) error {
	_, err := w.send(ctx, c, &t)
	return err
}

// State is unknown: a webhook cannot be asked.
func (w *Connector) State(context.Context, helpdesk.Ticket) (helpdesk.State, error) {
	return helpdesk.StateUnknown, nil
}

func (w *Connector) send(ctx context.Context, c helpdesk.Call, t *helpdesk.Ticket) ([]byte, error) {
	now := w.now()
	ev := Event{Type: "incident." + string(c.Kind), Timestamp: now.UTC(), Data: Data{
		ExternalID: c.ExternalID, Sequence: c.Sequence, Occurrence: c.Occurrence, Status: c.Status, Ticket: t,
		Title: c.Text.Title, Body: c.Text.Body, Language: c.Text.Language, Route: c.Route, Incident: c.Incident,
	}}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, helpdesk.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, helpdesk.Permanent(err)
	}
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "storewatch-hub")
	req.Header.Set("webhook-id", c.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(w.key, c.ID, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, helpdesk.MaxResponse))
	if err != nil {
		return nil, fmt.Errorf("webhook: reading the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, helpdesk.HTTPStatusError("webhook", resp, reply)
	}
	return reply, nil
}

// Sign computes a Standard Webhooks signature header value:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
