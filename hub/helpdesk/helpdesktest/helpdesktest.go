// Package helpdesktest helps the tests of the helpdesk outbox and of its
// connectors (hub/helpdesk/redmine, webhook, email): incidents and
// notifications to send, a configuration with fast retries, an outbox that
// runs until the test ends, and a Feedback that records what it heard. Only
// tests import it.
package helpdesktest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// Quiet is a logger that writes nothing.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Catalog returns the built-in ticket texts.
func Catalog(t testing.TB) *tickets.Catalog {
	t.Helper()
	c, err := tickets.Load(tickets.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Incident is a receipt printer fault in store s of tenant acme.
func Incident(store, device string, fault wire.FaultCode) tickets.Brief {
	return tickets.Brief{
		Key: "acme/" + store + "/" + device + "/" + string(fault), Tenant: "acme", Store: store,
		StoreName: "Store " + store, Address: "Hauptstraße 1, Berlin", Country: "DE", TimeZone: "Europe/Berlin",
		Device: device, Kind: "receipt_printer", Location: "lane 2",
		Identity: wire.Identity{Vendor: "Epson", Model: "TM-T88VI", Serial: "SN-" + store + "-" + device, Firmware: "30.01"},
		Fault:    fault, Priority: 2, FirstSeen: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Changed:        time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
		SLADue:         time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC),
		DeviceCount30d: 2, ModelCount30d: 17,
	}
}

// Note is a notification of the incident's first occurrence.
func Note(in tickets.Brief, kind tickets.Occasion) helpdesk.Delivery {
	return helpdesk.Delivery{Incident: in, Kind: kind, Occurrence: "1"}
}

// Config routes everything to one helpdesk named "desk" with fast retries
// and no throttle, its outbox in the test's temporary directory; tests
// adjust it.
func Config(t testing.TB) helpdesk.Config {
	return helpdesk.Config{
		Namespace: t.Name(),
		Routing:   helpdesk.Routing{Default: helpdesk.Target{Helpdesk: "desk"}},
		Outbox: helpdesk.OutboxConfig{
			Path: filepath.Join(t.TempDir(), "outbox.db"), Workers: 3,
			RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
			UpdateInterval: time.Nanosecond, SyncInterval: -1,
		},
	}
}

// Parse reads a helpdesk section as the hub does (strictly: an unknown
// setting is an error) and validates it; the error says every mistake.
func Parse(data []byte) (helpdesk.Config, error) {
	var c helpdesk.Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, err
	}
	if errs := c.Validate(); len(errs) > 0 {
		return c, errs
	}
	return c, nil
}

// WantMistake checks that the helpdesk section fails to parse with an
// error that says want.
func WantMistake(t *testing.T, name, yaml, want string) {
	t.Helper()
	if _, err := Parse([]byte(yaml)); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: got %v\nwant %q", name, err, want)
	}
}

// Open opens the outbox of cfg for the rest of the test; opt's logger is
// Quiet unless given.
func Open(t testing.TB, cfg helpdesk.Config, opt helpdesk.Options) *helpdesk.Outbox {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = Quiet
	}
	o, err := helpdesk.Open(cfg, Catalog(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// Running runs the outbox until the test ends.
func Running(t testing.TB, o *helpdesk.Outbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// Drained waits until the outbox has delivered (or given up on) every call.
func Drained(t testing.TB, o *helpdesk.Outbox) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, "the outbox to drain", func() bool { return o.Pending() == 0 })
}

// Enqueue hands the notifications to the outbox.
func Enqueue(t testing.TB, o *helpdesk.Outbox, ns ...helpdesk.Delivery) {
	t.Helper()
	for _, n := range ns {
		if err := o.Enqueue(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
}

// ExternalID is the marker the ticket of n carries in the helpdesk.
func ExternalID(cfg helpdesk.Config, n helpdesk.Delivery) string {
	return helpdesk.ExternalID(cfg.Namespace, n.TicketKey())
}

// Recorder is a Feedback that remembers what it heard.
type Recorder struct {
	mu     sync.Mutex
	linked []helpdesk.Link
	closed map[string]helpdesk.State
}

// Linked records the link.
func (r *Recorder) Linked(_ context.Context, l helpdesk.Link) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.linked = append(r.linked, l)
}

// ClosedByPerson records the state by incident key.
func (r *Recorder) ClosedByPerson(_ context.Context, l helpdesk.Link, s helpdesk.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed == nil {
		r.closed = map[string]helpdesk.State{}
	}
	r.closed[l.IncidentKey] = s
}

// Links returns a copy of what Linked heard so far.
func (r *Recorder) Links() []helpdesk.Link {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]helpdesk.Link(nil), r.linked...)
}

// ClosedState returns what ClosedByPerson heard of the incident.
func (r *Recorder) ClosedState(key string) helpdesk.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed[key]
}
