package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/tickets"
)

// Consumer is the bridge's cursor name in the store.
const Consumer = "helpdesk"

// CountWindow is how far back a ticket's "how often" counts look.
const CountWindow = 30 * 24 * time.Hour

// ConsolePath is where the web console shows an incident, under the hub's
// public URL.
const ConsolePath = "/console/incidents/"

// Outbox takes notifications for delivery (helpdesk.Outbox).
type Outbox interface {
	Enqueue(ctx context.Context, n helpdesk.Delivery) error
}

// Inventory is what the engine knows now about stores and incidents.
type Inventory interface {
	Store(tenant, store string) (incident.StoreRecord, bool)
	StoreDevices(tenant, store string) []incident.DeviceRecord
	Live(id string) (incident.Incident, bool)
}

// Stream is the durable notification stream the bridge follows and its
// place in it (the hub's store).
type Stream interface {
	// Notifications returns up to limit notifications after seq; Notified
	// a channel closed at the next commit that adds some.
	Notifications(after uint64, limit int) ([]incident.Notification, error)
	Notified() <-chan struct{}
	// Cursor and SetCursor keep the bridge's position (Consumer).
	Cursor(consumer string) (uint64, error)
	SetCursor(consumer string, seq uint64) error
}

// FaultCounter says how often a fault happened before on the device and on
// its model, for "last 30 days" on tickets (the hub's store).
type FaultCounter interface {
	FaultCounts(q store.FaultQuery) (store.FaultCounts, error)
}

// Options are a Bridge's collaborators.
type Options struct {
	Stream    Stream
	Counts    FaultCounter
	Inventory Inventory
	Outbox    Outbox
	// Policy is the engine's: it says whether an incident closes by itself
	// on recovery, and the flap and chronic windows.
	Policy incident.Policy
	// PublicURL is the hub's address for people; tickets link to
	// PublicURL/console/incidents/{id}. Empty: no link.
	PublicURL string
	Log       *slog.Logger
	// Batch is how many notifications are read at a time (default 256).
	Batch int
	// RetryMin and RetryMax bound the wait after the outbox failed to store
	// a notification (defaults 1s and 1m).
	RetryMin, RetryMax time.Duration
	// Now is the engine's clock (default time.Now): notifications from
	// before Run started are the backlog.
	Now func() time.Time
}

// Bridge follows the notification stream into the helpdesk outbox.
type Bridge struct{ o Options }

// New returns a bridge; Run starts it.
func New(o Options) *Bridge {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(time.Minute, o.RetryMin)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Bridge{o: o}
}

// Run follows the stream from the bridge's cursor until ctx ends: it hands
// every notification to the outbox, then moves the cursor past the batch.
// It waits on the store's Notified channel when it has caught up.
//
// The notifications from before Run started (the backlog: written while
// the hub was down, or before a helpdesk was configured at all) are
// delivered only for incidents that are still live, or to finish tickets
// that exist: a ticket is not opened for an incident that has ended
// meanwhile.
func (b *Bridge) Run(ctx context.Context) error {
	started := b.o.Now()
	cursor, err := b.o.Stream.Cursor(Consumer)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	b.o.Log.Info("helpdesk bridge following the notification stream", "after", cursor)
	wait := b.o.RetryMin
	for {
		wake := b.o.Stream.Notified() // before reading: a commit after the read closes it
		batch, err := b.o.Stream.Notifications(cursor, b.o.Batch)
		if err != nil {
			b.o.Log.Error("helpdesk bridge: reading the notification stream", "err", err)
			if !b.sleep(ctx, &wait) {
				return nil
			}
			continue
		}
		wait = b.o.RetryMin
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-wake:
			}
			continue
		}
		stopped := false
		for _, n := range batch {
			if err := b.deliver(ctx, n, n.At.Before(started)); err != nil {
				stopped = true // ctx ended; the cursor stays before n
				break
			}
			cursor = n.Seq
		}
		if err := b.o.Stream.SetCursor(Consumer, cursor); err != nil {
			// The next batch stores it; a crash before then hands this
			// batch over again, which the outbox absorbs.
			b.o.Log.Error("helpdesk bridge: storing the cursor", "seq", cursor, "err", err)
		}
		if stopped {
			return nil
		}
	}
}

// sleep waits the current backoff (doubling it for next time) or until ctx
// ends; it reports whether to go on.
func (b *Bridge) sleep(ctx context.Context, wait *time.Duration) bool {
	t := time.NewTimer(*wait)
	defer t.Stop()
	*wait = min(*wait*2, b.o.RetryMax)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ErrStoreRead is a ticket that could not be made because the store could
// not be read (a passing failure: the bridge tries again).
var ErrStoreRead = errors.New("reading the store")

// deliver hands one notification to the outbox, retrying until it is
// stored or ctx ends.
func (b *Bridge) deliver(ctx context.Context, n incident.Notification, backlog bool) error {
	log := b.o.Log.With("seq", n.Seq, "incident", n.Incident.ID, "kind", n.Kind)
	if backlog && tickets.Occasion(n.Kind).Opens() {
		if _, live := b.o.Inventory.Live(n.Incident.ID); !live {
			log.Debug("helpdesk bridge: not opening a ticket for an incident that ended while nobody delivered")
			return nil
		}
	}
	wait := b.o.RetryMin
	hn, err := b.Notification(n)
	for errors.Is(err, ErrStoreRead) {
		// The store is away (PostgreSQL restarting): the ticket waits for
		// it rather than being skipped.
		log.Warn("helpdesk bridge: the store cannot be read for the ticket; retrying", "in", wait, "err", err)
		if !b.sleep(ctx, &wait) {
			return ctx.Err()
		}
		hn, err = b.Notification(n)
	}
	if err != nil {
		log.Error("helpdesk bridge: the notification cannot become a ticket; skipped", "err", err)
		return nil
	}
	wait = b.o.RetryMin
	for {
		err := b.o.Outbox.Enqueue(ctx, hn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("helpdesk bridge: the outbox did not take the notification; retrying", "in", wait, "err", err)
		if !b.sleep(ctx, &wait) {
			return ctx.Err()
		}
	}
}

// Notification turns an entry of the stream into what the helpdesk outbox
// takes: one occurrence (ticket) per incident, identified by the incident's
// id.
//
// A device that recovered while its rule says "comment" leaves the incident
// open for a person; the engine tells that as an update, the helpdesk as a
// resolve without auto-close ("recovered by itself; please check and
// close"), so this is where one becomes the other.
func (b *Bridge) Notification(n incident.Notification) (helpdesk.Delivery, error) {
	kind := tickets.Occasion(n.Kind)
	if !kind.Valid() {
		return helpdesk.Delivery{}, fmt.Errorf("notify: unknown notification kind %q", n.Kind)
	}
	if recoveredAwaitingPerson(n) {
		kind = tickets.Resolved
	}
	in, err := b.Incident(n)
	if err != nil {
		return helpdesk.Delivery{}, err
	}
	if kind == tickets.Resolved && n.Kind == incident.NotifyUpdated {
		in.Changed, in.AutoClose = n.Incident.RecoveredAt, false
	}
	hn := helpdesk.Delivery{Incident: in, Kind: kind, Occurrence: n.Incident.ID}
	return hn, hn.Check()
}

// Incident fills the ticket snapshot of a notification: the incident as
// the engine saw it, the store as its inventory describes it now, and the
// counts of earlier episodes from the store.
func (b *Bridge) Incident(n incident.Notification) (tickets.Brief, error) {
	inc := n.Incident
	t := inc.Facts
	out := tickets.Brief{
		Key: inc.Key, Tenant: inc.Tenant, Store: inc.Store,
		StoreName: t.StoreName, Address: t.StoreAddress, Country: t.Country, TimeZone: t.TimeZone,
		Fault: inc.Fault, Severity: t.Severity, Remedy: t.Remedy,
		Priority: inc.Priority, PreviousPriority: n.PreviousPriority, SLADue: inc.ResolutionDue,
		FirstSeen: inc.FirstSeen, Changed: n.At,
		ClosedBy: inc.ClosedBy, Reason: inc.CloseReason,
	}
	if rec, ok := b.o.Inventory.Store(inc.Tenant, inc.Store); ok {
		info := rec.Info
		out.StoreName = firstOf(info.Name, out.StoreName)
		out.Address = firstOf(info.Address, out.Address)
		out.Country = firstOf(info.Country, out.Country)
		out.TimeZone = firstOf(info.TimeZone, out.TimeZone)
	}
	if out.TimeZone != "" {
		if _, err := time.LoadLocation(out.TimeZone); err != nil {
			out.TimeZone = "" // an agent's unknown zone: times in UTC rather than no ticket
		}
	}
	switch n.Kind {
	case incident.NotifyResolved:
		if !inc.RecoveredAt.IsZero() {
			out.Changed = inc.RecoveredAt
		}
	case incident.NotifyClosed:
		if !inc.ClosedAt.IsZero() {
			out.Changed = inc.ClosedAt
		}
	}
	if b.o.PublicURL != "" {
		out.URL = strings.TrimRight(b.o.PublicURL, "/") + ConsolePath + url.PathEscape(inc.ID)
	}

	if inc.Kind == incident.KindAgentOffline {
		for _, d := range b.o.Inventory.StoreDevices(inc.Tenant, inc.Store) {
			if d.Agent != inc.Agent {
				continue
			}
			name := d.ID
			if d.Location != "" {
				name += " (" + d.Location + ")"
			}
			out.AffectedDevices = append(out.AffectedDevices, name)
		}
		out.AutoClose = b.o.Policy.For("", inc.Fault).OnRecovery == incident.RecoveryClose
		return out, nil
	}

	out.Device, out.Kind, out.Location = inc.Device, t.DeviceKind, t.Location
	out.Identity.Vendor, out.Identity.Model, out.Identity.Serial, out.Identity.Firmware = t.Vendor, t.Model, t.Serial, t.Firmware
	for _, f := range t.Faults {
		if f.Code == inc.Fault {
			out.Detail = f.Detail
		}
	}
	if inc.Flapping || n.Kind == incident.NotifyFlapping {
		out.Flaps, out.FlapWindow = inc.Flaps, b.o.Policy.FlapWindow
	}
	fingerprint := inc.Key
	if inc.Kind == incident.KindChronic {
		fingerprint = strings.TrimSuffix(inc.Key, "/chronic")
		out.Recurrences, out.ChronicWindow = inc.Occurrences, b.o.Policy.ChronicWindow
	} else {
		out.AutoClose = b.o.Policy.For(t.DeviceKind, inc.Fault).OnRecovery == incident.RecoveryClose
	}
	counts, err := b.o.Counts.FaultCounts(store.FaultQuery{Key: fingerprint, Tenant: inc.Tenant, Model: t.Model, Fault: inc.Fault,
		From: n.At.Add(-CountWindow), To: n.At.Add(time.Nanosecond)})
	if err != nil {
		return out, fmt.Errorf("notify: %w: %w", ErrStoreRead, err)
	}
	// The engine records an episode once it has lasted the chronic minimum;
	// a younger one (an incident opening at once) is counted here.
	young := 0
	if inc.Kind == incident.KindFault && inc.Active && n.At.Sub(inc.FirstSeen) < b.o.Policy.ChronicMin {
		young = 1
	}
	out.DeviceCount30d = counts.Device + young
	if out.Identity.Model != "" {
		out.ModelCount30d = counts.Model + young
	}
	return out, nil
}

// recoveredAwaitingPerson reports whether an update says that the fault
// cleared for good but the incident stays open for a person.
func recoveredAwaitingPerson(n incident.Notification) bool {
	in := n.Incident
	return n.Kind == incident.NotifyUpdated && in.Kind == incident.KindFault && in.State.Live() &&
		!in.Active && !in.RecoveredAt.IsZero()
}

// firstOf returns the first non-empty string.
func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
