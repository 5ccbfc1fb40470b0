package helpdesk

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/storewatch/storewatch/hub/tickets"
)

// Outbox is the persistent queue of helpdesk calls. Enqueue stores a
// notification durably and returns; Run delivers, one call at a time per
// ticket and in order, retrying with backoff until the helpdesk takes it or
// the call goes to the dead-letter list.
type Outbox struct {
	db      Records
	cfg     Config
	router  *Router
	catalog *tickets.Catalog
	conns   map[string]Connector
	fb      Feedback
	log     *slog.Logger
	now     func() time.Time

	mu     sync.Mutex
	queues map[string][]uint64  // ticket key → queued call seqs, oldest first
	due    map[uint64]time.Time // call seq → earliest next attempt
	kinds  map[uint64]tickets.Occasion
	busy   map[string]bool // ticket keys with a call being delivered
	wake   chan struct{}

	// afterOpen runs between a successful Open and storing the ticket id:
	// the crash window the tests reproduce. Returning true abandons the
	// delivery there, leaving the file as a crash would.
	afterOpen func() bool
}

// Options are the outbox's collaborators.
type Options struct {
	Feedback Feedback     // may be nil
	Logger   *slog.Logger // default slog.Default()
	// Connectors replaces or adds connectors by helpdesk name (tests, or a
	// connector this package does not ship). Helpdesks in the configuration
	// without an entry here are built from their section.
	Connectors map[string]Connector
	Now        func() time.Time // default time.Now
	// Records keeps the outbox's records; nil opens the bbolt file at
	// Outbox.Path. Close closes them.
	Records Records
}

// Open validates the configuration, opens (or creates) the outbox file and
// loads what is still queued in it. Close it when done.
func Open(cfg Config, catalog *tickets.Catalog, opt Options) (*Outbox, error) {
	var extra []string
	for name := range opt.Connectors {
		extra = append(extra, name)
	}
	if errs := cfg.validate(extra); len(errs) > 0 {
		return nil, fmt.Errorf("helpdesk: %w", errs)
	}
	if catalog == nil {
		return nil, errors.New("helpdesk: no ticket catalog")
	}
	for _, t := range append(cfg.Routing.Rules, Rule{Target: cfg.Routing.Default}) {
		if t.Language != "" && !catalog.Has(t.Language) {
			return nil, fmt.Errorf("helpdesk: routing: no ticket language %q (have %v)", t.Language, catalog.Languages())
		}
	}
	o := &Outbox{
		cfg: cfg, router: NewRouter(cfg.Routing), catalog: catalog, fb: opt.Feedback, log: opt.Logger, now: opt.Now,
		conns: map[string]Connector{}, queues: map[string][]uint64{}, due: map[uint64]time.Time{},
		kinds: map[uint64]tickets.Occasion{}, busy: map[string]bool{}, wake: make(chan struct{}, 1),
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	for _, h := range cfg.Helpdesks {
		if c, ok := opt.Connectors[h.Name]; ok {
			o.conns[h.Name] = c
			continue
		}
		c, err := h.Settings.Connector()
		if err != nil {
			return nil, fmt.Errorf("helpdesk %s: %w", h.Name, err)
		}
		o.conns[h.Name] = c
	}
	for name, c := range opt.Connectors {
		o.conns[name] = c
	}
	where := cfg.Outbox.Path
	db := opt.Records
	if db == nil {
		var err error
		if db, err = OpenBoltRecords(where); err != nil {
			return nil, fmt.Errorf("helpdesk: outbox %s: %w", where, err)
		}
	} else {
		where = "records"
	}
	o.db = db
	if err := o.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("helpdesk: outbox %s: %w", where, err)
	}
	return o, nil
}

// Close closes the outbox file. Stop Run first.
func (o *Outbox) Close() error { return o.db.Close() }

func (o *Outbox) load() error {
	return o.db.View(func(tx RecordsTx) error {
		return tx.Calls().Each(func(c QueuedCall) error {
			o.index(c)
			return nil
		})
	})
}

// TicketInfo is what the outbox knows of one occurrence's ticket.
type TicketInfo struct {
	Key         string      `json:"key"` // incident key#occurrence
	IncidentKey string      `json:"incident_key"`
	Occurrence  string      `json:"occurrence"`
	Route       Destination `json:"route"`
	ExternalID  string      `json:"external_id"`
	Ticket      Ticket      `json:"ticket"`              // empty ID until the helpdesk created it
	Calls       int         `json:"calls"`               // calls delivered
	Status      Status      `json:"status,omitempty"`    // the last status the outbox set
	ClosedBy    State       `json:"closed_by,omitempty"` // closed, rejected, resolved or deleted by a person
	Notes       []string    `json:"notes,omitempty"`     // hashes of the notes posted, newest last
	LastNote    time.Time   `json:"last_note,omitempty"`
	Created     time.Time   `json:"created"`
	Finished    time.Time   `json:"finished,omitempty"`
}

const keptNotes = 32

// DeadLetter is a call the outbox gave up on.
type DeadLetter struct {
	Seq          uint64    `json:"seq"`
	Ticket       string    `json:"ticket"`
	Helpdesk     string    `json:"helpdesk"`
	Notification Delivery  `json:"notification"`
	Attempts     int       `json:"attempts"`
	Enqueued     time.Time `json:"enqueued"`
	Died         time.Time `json:"died"`
	Reason       string    `json:"reason"`
}

// index adds a stored call to the in-memory schedule. Callers hold o.mu (or
// own the outbox exclusively, as load does).
func (o *Outbox) index(c QueuedCall) {
	o.queues[c.Ticket] = append(o.queues[c.Ticket], c.Seq)
	o.due[c.Seq] = c.Next
	o.kinds[c.Seq] = c.Notification.Kind
}

func (o *Outbox) unindex(ticket string, seq uint64) {
	q := o.queues[ticket]
	if i := slices.Index(q, seq); i >= 0 {
		q = slices.Delete(q, i, i+1)
	}
	if len(q) == 0 {
		delete(o.queues, ticket)
	} else {
		o.queues[ticket] = q
	}
	delete(o.due, seq)
	delete(o.kinds, seq)
}

func (o *Outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Enqueue stores a notification for delivery and returns once it is on
// disk. The first notification of an occurrence is routed (rules, follow the
// sun) and the route sticks to the occurrence's ticket. Nothing is queued
// when the route is "none", when a person already closed the ticket, or for
// a resolve of an occurrence that never had a ticket. An update waiting
// behind another queued update replaces it (the newer snapshot says it all);
// a resolve or close drops queued updates.
func (o *Outbox) Enqueue(ctx context.Context, n Delivery) error {
	if err := n.Check(); err != nil {
		return fmt.Errorf("helpdesk: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	key := n.TicketKey()
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	var added *QueuedCall
	var dropped []uint64
	err := o.db.Update(func(tx RecordsTx) error {
		tb, cb := tx.Tickets(), tx.Calls()
		rec, err := tb.Get(key)
		if err != nil {
			return err
		}
		if rec == nil {
			if !n.Kind.Opens() {
				o.log.Debug("helpdesk: nothing to resolve: no ticket for this occurrence", "ticket", key, "kind", n.Kind)
				return nil
			}
			rec = &TicketInfo{
				Key: key, IncidentKey: n.Incident.Key, Occurrence: n.Occurrence,
				Route: o.router.Route(n.Incident, now), ExternalID: ExternalID(o.cfg.Namespace, key), Created: now,
			}
			if err := tb.Put(key, rec); err != nil {
				return err
			}
		}
		switch {
		case rec.Route.Helpdesk == None:
			return nil
		case rec.ClosedBy != "":
			o.log.Info("helpdesk: not posting: a person closed the ticket", "ticket", key, "state", rec.ClosedBy, "kind", n.Kind)
			return nil
		case rec.Status == StatusClosed:
			o.log.Info("helpdesk: not posting: the ticket is closed", "ticket", key, "kind", n.Kind)
			return nil
		}
		// Coalesce with calls still waiting (not the one being delivered).
		q := o.queues[key]
		waiting := q
		if o.busy[key] && len(q) > 0 {
			waiting = q[1:]
		}
		if n.Kind == tickets.Updated && len(waiting) > 0 && o.kinds[waiting[len(waiting)-1]] == tickets.Updated {
			seq := waiting[len(waiting)-1]
			c, err := cb.Get(seq)
			if err != nil || c == nil {
				return err
			}
			c.Notification = n
			return cb.Put(seq, c)
		}
		if n.Kind == tickets.Resolved || n.Kind == tickets.Closed {
			for _, seq := range waiting {
				if o.kinds[seq] == tickets.Updated {
					if err := cb.Delete(seq); err != nil {
						return err
					}
					dropped = append(dropped, seq)
				}
			}
		}
		seq, err := tx.NextCallSeq()
		if err != nil {
			return err
		}
		added = &QueuedCall{Seq: seq, Ticket: key, Notification: n, Enqueued: now, Next: now}
		return cb.Put(seq, added)
	})
	if err != nil {
		return fmt.Errorf("helpdesk: enqueue %s: %w", key, err)
	}
	for _, seq := range dropped {
		o.unindex(key, seq)
	}
	if added != nil {
		o.index(*added)
		o.poke()
	}
	return nil
}

// Pending returns how many calls wait for delivery.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.due)
}

// Run delivers queued calls until ctx ends, and every SyncInterval looks up
// open tickets in helpdesks that can tell their state. Calls in flight when
// ctx ends are cancelled and retried at the next Run.
func (o *Outbox) Run(ctx context.Context) error {
	jobs := make(chan uint64)
	done := make(chan struct{}, o.cfg.Outbox.Workers)
	var wg sync.WaitGroup
	for range o.cfg.Outbox.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range jobs {
				o.deliver(ctx, seq)
				done <- struct{}{}
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	var syncTick <-chan time.Time
	if o.cfg.Outbox.SyncInterval > 0 {
		t := time.NewTicker(o.cfg.Outbox.SyncInterval)
		defer t.Stop()
		syncTick = t.C
	}
	free := o.cfg.Outbox.Workers
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		ready, wait := o.ready(free)
		for _, seq := range ready {
			select {
			case jobs <- seq:
				free--
			case <-ctx.Done():
				o.release(seq)
				return nil
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			free++
		case <-o.wake:
		case <-timer.C:
		case <-syncTick:
			o.Sync(ctx)
		}
	}
}

// ready picks up to n calls that are due, the oldest first, and marks their
// tickets busy; wait is how long until the next one falls due.
func (o *Outbox) ready(n int) (ready []uint64, wait time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	wait = time.Hour
	type head struct {
		seq uint64
		key string
	}
	var due []head
	for key, q := range o.queues {
		if o.busy[key] || len(q) == 0 {
			continue
		}
		if at := o.due[q[0]]; at.After(now) {
			wait = min(wait, at.Sub(now))
			continue
		}
		due = append(due, head{q[0], key})
	}
	sort.Slice(due, func(i, j int) bool { return due[i].seq < due[j].seq })
	for _, h := range due[:min(n, len(due))] {
		o.busy[h.key] = true
		ready = append(ready, h.seq)
	}
	return ready, wait
}

// release frees the ticket of a call that was picked but not delivered.
func (o *Outbox) release(seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for key, q := range o.queues {
		if len(q) > 0 && q[0] == seq {
			delete(o.busy, key)
		}
	}
}

// deliver makes one attempt at one call.
func (o *Outbox) deliver(ctx context.Context, seq uint64) {
	var c *QueuedCall
	var rec *TicketInfo
	err := o.db.View(func(tx RecordsTx) error {
		var err error
		if c, err = tx.Calls().Get(seq); err != nil || c == nil {
			return err
		}
		rec, err = tx.Tickets().Get(c.Ticket)
		return err
	})
	switch {
	case err != nil:
		o.log.Error("helpdesk: reading the outbox", "seq", seq, "err", err)
		o.release(seq)
		return
	case c == nil:
		o.release(seq) // coalesced away meanwhile
		return
	case rec == nil:
		_ = o.finish(c, nil, "the ticket record is missing")
		return
	}
	n := c.Notification
	log := o.log.With("ticket", c.Ticket, "kind", n.Kind, "seq", seq, "helpdesk", rec.Route.Helpdesk)
	conn := o.conns[rec.Route.Helpdesk]
	switch {
	case conn == nil:
		o.bury(c, rec.Route.Helpdesk, fmt.Errorf("helpdesk %q is not configured", rec.Route.Helpdesk))
		return
	case rec.ClosedBy != "" || rec.Status == StatusClosed:
		_ = o.finish(c, nil, "the ticket is closed")
		return
	case rec.Ticket.ID == "" && !n.Kind.Opens():
		_ = o.finish(c, nil, "no ticket to "+string(n.Kind))
		return
	case rec.Ticket.ID != "" && n.Kind == tickets.Opened:
		_ = o.finish(c, nil, "the ticket exists")
		// The delivery that opened it may have ended (its replica killed)
		// after recording the ticket and before the link reached the
		// incident; the notification then comes again from the stored
		// cursor. Linking again changes nothing where the link is.
		if o.fb != nil {
			o.fb.Linked(ctx, o.link(rec))
		}
		return
	}
	now := o.now()
	if n.Kind == tickets.Updated && rec.Ticket.ID != "" && now.Before(rec.LastNote.Add(o.cfg.Outbox.UpdateInterval)) {
		o.postpone(c, rec.LastNote.Add(o.cfg.Outbox.UpdateInterval))
		return
	}
	lang := rec.Route.Language
	if lang == "" {
		lang = o.catalog.LanguageFor(n.Incident.Tenant, n.Incident.Store)
	}
	text, err := o.catalog.Render(n.Kind, n.Incident, lang)
	if err != nil {
		o.bury(c, rec.Route.Helpdesk, Permanent(err))
		return
	}
	call := Call{
		ID: rec.ExternalID + "." + strconv.FormatUint(seq, 10), ExternalID: rec.ExternalID, Sequence: rec.Calls + 1,
		Kind: n.Kind, Occurrence: n.Occurrence, Incident: n.Incident, Route: rec.Route, Text: text,
	}
	noteHash := hashNote(text.Body)

	if rec.Ticket.ID == "" {
		t, err := conn.Open(ctx, call)
		if err != nil {
			o.fail(c, rec.Route.Helpdesk, err, log)
			return
		}
		if o.afterOpen != nil && o.afterOpen() {
			return
		}
		rec.Ticket, rec.Calls = t, rec.Calls+1
		rec.Notes, rec.LastNote = appendNote(rec.Notes, noteHash), now
		// The link first, then the call's end: a delivery that dies
		// between the two makes the call again (the helpdesk knows it by
		// its idempotency key) and links again, which changes nothing;
		// the other order lost the link for good (a kill -9 test).
		if o.fb != nil {
			o.fb.Linked(ctx, o.link(rec))
		}
		if err := o.finish(c, rec, ""); err != nil {
			return
		}
		log.Info("helpdesk: ticket opened", "id", t.ID)
		return
	}

	st, err := conn.State(ctx, rec.Ticket)
	if err != nil {
		o.fail(c, rec.Route.Helpdesk, err, log)
		return
	}
	if person := closedByPerson(st, rec.Status); person != "" {
		o.recordPerson(ctx, c, rec.Key, person)
		return
	}
	status := StatusKeep
	switch {
	case n.Kind == tickets.Closed:
		status = StatusClosed
	case n.Kind == tickets.Resolved && n.Incident.AutoClose:
		status = StatusResolved
	}
	if rank(status) <= rank(rec.Status) {
		status = StatusKeep
	}
	if status == StatusKeep && slices.Contains(rec.Notes, noteHash) {
		_ = o.finish(c, nil, "the same note is on the ticket already")
		return
	}
	call.Status = status
	if err := conn.Post(ctx, rec.Ticket, call); err != nil {
		o.fail(c, rec.Route.Helpdesk, err, log)
		return
	}
	rec.Calls++
	rec.Notes, rec.LastNote = appendNote(rec.Notes, noteHash), now
	if status != StatusKeep {
		rec.Status = status
	}
	if status == StatusClosed || status == StatusResolved {
		rec.Finished = now
	}
	if o.finish(c, rec, "") == nil {
		log.Info("helpdesk: ticket updated", "id", rec.Ticket.ID, "status", status)
	}
}

func rank(s Status) int {
	switch s {
	case StatusResolved:
		return 1
	case StatusClosed:
		return 2
	}
	return 0
}

// closedByPerson says whether the helpdesk's state is a person's doing:
// anything resolved, closed, rejected or deleted that the outbox did not set.
func closedByPerson(st State, ours Status) State {
	switch st {
	case StateDeleted, StateRejected:
		return st
	case StateClosed:
		if ours != StatusClosed {
			return st
		}
	case StateResolved:
		if ours == StatusKeep {
			return st
		}
	}
	return ""
}

// recordPerson stores that a person closed the ticket (re-reading the
// record, so nothing a delivery wrote meanwhile is lost), drops the call c
// if any, and tells Feedback.
func (o *Outbox) recordPerson(ctx context.Context, c *QueuedCall, key string, st State) {
	now := o.now()
	var rec *TicketInfo
	o.mu.Lock()
	err := o.db.Update(func(tx RecordsTx) error {
		b := tx.Tickets()
		var err error
		if rec, err = b.Get(key); err != nil || rec == nil {
			return err
		}
		rec.ClosedBy, rec.Finished = st, now
		if err := b.Put(key, rec); err != nil {
			return err
		}
		if c != nil {
			return tx.Calls().Delete(c.Seq)
		}
		return nil
	})
	if c != nil {
		if err == nil {
			o.unindex(c.Ticket, c.Seq)
		}
		delete(o.busy, c.Ticket)
	}
	o.mu.Unlock()
	if err != nil || rec == nil {
		o.log.Error("helpdesk: storing a person's close", "ticket", key, "err", err)
		return
	}
	o.log.Info("helpdesk: a person closed the ticket; nothing more is posted to it", "ticket", key, "id", rec.Ticket.ID, "state", st)
	if o.fb != nil {
		o.fb.ClosedByPerson(ctx, o.link(rec), st)
	}
}

func (o *Outbox) link(rec *TicketInfo) Link {
	return Link{IncidentKey: rec.IncidentKey, Occurrence: rec.Occurrence, Helpdesk: rec.Route.Helpdesk, Ticket: rec.Ticket}
}

func hashNote(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func appendNote(notes []string, h string) []string {
	notes = append(notes, h)
	if len(notes) > keptNotes {
		notes = notes[len(notes)-keptNotes:]
	}
	return notes
}

// finish removes a delivered (or pointless) call and stores the ticket
// record with it, in one transaction: the ticket id is on disk before
// anything else happens.
func (o *Outbox) finish(c *QueuedCall, rec *TicketInfo, skipped string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.db.Update(func(tx RecordsTx) error {
		if rec != nil {
			if err := tx.Tickets().Put(rec.Key, rec); err != nil {
				return err
			}
		}
		if c != nil {
			return tx.Calls().Delete(c.Seq)
		}
		return nil
	})
	if err != nil {
		o.log.Error("helpdesk: storing a delivery", "err", err)
		if c != nil {
			delete(o.busy, c.Ticket)
			o.due[c.Seq] = o.now().Add(o.cfg.Outbox.RetryMin)
		}
		return err
	}
	if c != nil {
		if skipped != "" {
			o.log.Info("helpdesk: call dropped", "ticket", c.Ticket, "kind", c.Notification.Kind, "why", skipped)
		}
		o.unindex(c.Ticket, c.Seq)
		delete(o.busy, c.Ticket)
	}
	return nil
}

// fail schedules the next attempt, or buries the call.
func (o *Outbox) fail(c *QueuedCall, helpdesk string, err error, log *slog.Logger) {
	now := o.now()
	if IsPermanent(err) || now.Sub(c.Enqueued) >= o.cfg.Outbox.GiveUpAfter {
		o.bury(c, helpdesk, err)
		return
	}
	c.Attempts++
	c.LastError = err.Error()
	wait := o.backoff(c.Attempts)
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > wait {
		wait = ra.After
	}
	log.Warn("helpdesk: call failed; retrying", "attempt", c.Attempts, "in", wait.Round(time.Millisecond), "err", err)
	o.postpone(c, now.Add(wait))
}

// backoff is exponential from RetryMin to RetryMax with "equal jitter": half
// the step fixed, half random, so calls failing together spread out.
func (o *Outbox) backoff(attempt int) time.Duration {
	d := o.cfg.Outbox.RetryMin
	for i := 1; i < attempt && d < o.cfg.Outbox.RetryMax; i++ {
		d *= 2
	}
	d = min(d, o.cfg.Outbox.RetryMax)
	return d/2 + rand.N(d/2+1)
}

func (o *Outbox) postpone(c *QueuedCall, at time.Time) {
	c.Next = at
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.db.Update(func(tx RecordsTx) error {
		b := tx.Calls()
		cur, err := b.Get(c.Seq)
		if err != nil || cur == nil {
			return err // nil: coalesced away meanwhile
		}
		// Keep a notification that Enqueue coalesced into this call meanwhile.
		c.Notification = cur.Notification
		return b.Put(c.Seq, c)
	})
	if err != nil {
		o.log.Error("helpdesk: storing a retry", "err", err)
	}
	if _, ok := o.due[c.Seq]; ok {
		o.due[c.Seq] = at
	}
	delete(o.busy, c.Ticket)
}

// bury moves a call to the dead-letter list.
func (o *Outbox) bury(c *QueuedCall, helpdesk string, cause error) {
	o.log.Error("helpdesk: giving up on a call; it is on the dead-letter list", "ticket", c.Ticket, "kind", c.Notification.Kind, "attempts", c.Attempts+1, "err", cause)
	d := DeadLetter{
		Seq: c.Seq, Ticket: c.Ticket, Helpdesk: helpdesk, Notification: c.Notification,
		Attempts: c.Attempts + 1, Enqueued: c.Enqueued, Died: o.now(), Reason: cause.Error(),
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.db.Update(func(tx RecordsTx) error {
		if err := tx.Dead().Put(c.Seq, &d); err != nil {
			return err
		}
		return tx.Calls().Delete(c.Seq)
	})
	if err != nil {
		o.log.Error("helpdesk: storing a dead letter", "err", err)
	}
	o.unindex(c.Ticket, c.Seq)
	delete(o.busy, c.Ticket)
}

// ErrNoDeadLetter: Retry or Discard of a sequence number that is not on
// the dead-letter list.
var ErrNoDeadLetter = errors.New("no such dead letter")

// DeadLetters lists the calls the outbox gave up on, oldest first.
func (o *Outbox) DeadLetters() ([]DeadLetter, error) {
	var out []DeadLetter
	err := o.db.View(func(tx RecordsTx) error {
		return tx.Dead().Each(func(d DeadLetter) error {
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// Retry puts a dead letter back in the queue, behind what is queued for its
// ticket now.
func (o *Outbox) Retry(seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var added QueuedCall
	err := o.db.Update(func(tx RecordsTx) error {
		db, cb := tx.Dead(), tx.Calls()
		d, err := db.Get(seq)
		if err != nil {
			return err
		}
		if d == nil {
			return ErrNoDeadLetter
		}
		next, err := tx.NextCallSeq()
		if err != nil {
			return err
		}
		added = QueuedCall{Seq: next, Ticket: d.Ticket, Notification: d.Notification, Enqueued: o.now(), Next: o.now()}
		if err := cb.Put(next, &added); err != nil {
			return err
		}
		return db.Delete(seq)
	})
	if err != nil {
		return fmt.Errorf("helpdesk: retry %d: %w", seq, err)
	}
	o.index(added)
	o.poke()
	return nil
}

// Discard deletes a dead letter.
func (o *Outbox) Discard(seq uint64) error {
	return o.db.Update(func(tx RecordsTx) error {
		b := tx.Dead()
		if d, err := b.Get(seq); err != nil || d == nil {
			return fmt.Errorf("helpdesk: discard %d: %w", seq, cmp.Or(err, ErrNoDeadLetter))
		}
		return b.Delete(seq)
	})
}

// Ticket returns what the outbox knows of an occurrence's ticket.
func (o *Outbox) Ticket(incidentKey, occurrence string) (TicketInfo, bool, error) {
	var rec *TicketInfo
	err := o.db.View(func(tx RecordsTx) error {
		var err error
		rec, err = tx.Tickets().Get(incidentKey + "#" + occurrence)
		return err
	})
	if err != nil || rec == nil {
		return TicketInfo{}, false, err
	}
	return *rec, true, nil
}

// Sync looks up every open ticket in helpdesks that can tell its state and
// records the ones a person closed (and tells Feedback), so the hub learns
// of it even when nothing else is sent to the ticket. It also forgets
// records of tickets finished longer than Keep ago. Run calls it every
// SyncInterval.
func (o *Outbox) Sync(ctx context.Context) {
	var open []TicketInfo
	var expired []string
	cutoff := o.now().Add(-o.cfg.Outbox.Keep)
	err := o.db.View(func(tx RecordsTx) error {
		return tx.Tickets().Each(func(rec TicketInfo) error {
			finished := rec.Finished
			if rec.Route.Helpdesk == None {
				finished = rec.Created
			}
			switch {
			case !finished.IsZero() && finished.Before(cutoff):
				expired = append(expired, rec.Key)
			case rec.Ticket.ID != "" && rec.ClosedBy == "" && rec.Status != StatusClosed:
				open = append(open, rec)
			}
			return nil
		})
	})
	if err != nil {
		o.log.Error("helpdesk: sync: reading tickets", "err", err)
		return
	}
	sort.Slice(open, func(i, j int) bool { return open[i].Created.Before(open[j].Created) })
	for i := range open {
		rec := &open[i]
		if ctx.Err() != nil {
			return
		}
		o.mu.Lock()
		queued := len(o.queues[rec.Key]) > 0
		o.mu.Unlock()
		conn := o.conns[rec.Route.Helpdesk]
		if queued || conn == nil {
			continue // delivery looks before it posts
		}
		st, err := conn.State(ctx, rec.Ticket)
		if err != nil {
			o.log.Warn("helpdesk: sync: cannot look at a ticket", "ticket", rec.Key, "id", rec.Ticket.ID, "err", err)
			continue
		}
		if person := closedByPerson(st, rec.Status); person != "" {
			o.recordPerson(ctx, nil, rec.Key, person)
		}
	}
	if len(expired) > 0 {
		o.mu.Lock()
		defer o.mu.Unlock()
		err := o.db.Update(func(tx RecordsTx) error {
			b := tx.Tickets()
			for _, k := range expired {
				if len(o.queues[k]) > 0 {
					continue
				}
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			o.log.Error("helpdesk: sync: forgetting old tickets", "err", err)
		}
	}
}
