package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/store/storetest"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/wire"
)

// The outbox's records behave alike in the bbolt file and in PostgreSQL.
func TestHelpdeskRecordsInBothBackends(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(t *testing.T) helpdesk.Records
	}{
		{"bolt", func(t *testing.T) helpdesk.Records {
			r, err := helpdesk.OpenBoltRecords(filepath.Join(t.TempDir(), "outbox.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		}},
		{"postgres", func(t *testing.T) helpdesk.Records { return openStore(t, migrated(t), Options{}).HelpdeskRecords() }},
	} {
		t.Run(b.name, func(t *testing.T) {
			r := b.open(t)
			ticket := storetest.Fill[helpdesk.TicketInfo]("ticket")
			call := storetest.Fill[helpdesk.QueuedCall]("call")
			call.Notification.Kind = tickets.Opened
			dead := storetest.Fill[helpdesk.DeadLetter]("dead")
			var seqs []uint64
			err := r.Update(func(tx helpdesk.RecordsTx) error {
				for range 3 {
					n, err := tx.NextCallSeq()
					if err != nil {
						return err
					}
					seqs = append(seqs, n)
				}
				call.Seq, dead.Seq = seqs[1], seqs[0]
				later := call
				later.Seq = seqs[2]
				return errors.Join(tx.Tickets().Put(ticket.Key, &ticket), tx.Calls().Put(later.Seq, &later), tx.Calls().Put(call.Seq, &call),
					tx.Dead().Put(dead.Seq, &dead))
			})
			if err != nil {
				t.Fatal(err)
			}
			if seqs[0] == 0 || seqs[1] <= seqs[0] || seqs[2] <= seqs[1] {
				t.Errorf("sequence numbers %v", seqs)
			}
			// A transaction that fails stores nothing.
			boom := errors.New("boom")
			err = r.Update(func(tx helpdesk.RecordsTx) error {
				if err := tx.Calls().Delete(call.Seq); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Errorf("failed update: %v", err)
			}
			err = r.View(func(tx helpdesk.RecordsTx) error {
				gotT, err := tx.Tickets().Get(ticket.Key)
				if err != nil || gotT == nil {
					return fmt.Errorf("ticket: %v %v", gotT, err)
				}
				same(t, "ticket", *gotT, ticket)
				gotC, err := tx.Calls().Get(call.Seq)
				if err != nil || gotC == nil {
					return fmt.Errorf("call: %v %v", gotC, err)
				}
				same(t, "call", *gotC, call)
				gotD, err := tx.Dead().Get(dead.Seq)
				if err != nil || gotD == nil {
					return fmt.Errorf("dead letter: %v %v", gotD, err)
				}
				same(t, "dead letter", *gotD, dead)
				if none, err := tx.Calls().Get(seqs[0]); none != nil || err != nil {
					return fmt.Errorf("a call under the dead letter's number: %v %v", none, err)
				}
				var order []uint64
				if err := tx.Calls().Each(func(c helpdesk.QueuedCall) error { order = append(order, c.Seq); return nil }); err != nil {
					return err
				}
				if fmt.Sprint(order) != fmt.Sprint(seqs[1:]) {
					t.Errorf("calls in order %v, want %v", order, seqs[1:])
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			err = r.Update(func(tx helpdesk.RecordsTx) error {
				return errors.Join(tx.Tickets().Delete(ticket.Key), tx.Calls().Delete(call.Seq), tx.Dead().Delete(dead.Seq))
			})
			if err != nil {
				t.Fatal(err)
			}
			_ = r.View(func(tx helpdesk.RecordsTx) error {
				n := 0
				_ = tx.Tickets().Each(func(helpdesk.TicketInfo) error { n++; return nil })
				_ = tx.Dead().Each(func(helpdesk.DeadLetter) error { n++; return nil })
				_ = tx.Calls().Each(func(helpdesk.QueuedCall) error { n++; return nil })
				if n != 1 {
					t.Errorf("%d records left, want the later call", n)
				}
				return nil
			})
		})
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s changed in the store:\n got %s\nwant %s", what, g, w)
	}
}

// desk is a helpdesk in memory that refuses its first open.
type desk struct {
	mu     sync.Mutex
	opened int
	posts  int
	refuse bool
}

func (d *desk) Open(_ context.Context, c helpdesk.Call) (helpdesk.Ticket, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refuse {
		d.refuse = false
		return helpdesk.Ticket{}, helpdesk.Permanent(errors.New("422 project is closed"))
	}
	d.opened++
	return helpdesk.Ticket{ID: fmt.Sprint(d.opened)}, nil
}

func (d *desk) Post(context.Context, helpdesk.Ticket, helpdesk.Call) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.posts++
	return nil
}

func (d *desk) State(context.Context, helpdesk.Ticket) (helpdesk.State, error) {
	return helpdesk.StateUnknown, nil
}

// A hub on PostgreSQL keeps its helpdesk outbox there: calls are delivered,
// a refused one waits on the dead-letter list until it is retried, and a
// restarted outbox finds what was queued.
func TestHelpdeskOutboxRunsOnPostgres(t *testing.T) {
	st := openStore(t, migrated(t), Options{})
	d := &desk{refuse: true}
	cat, err := tickets.Load(tickets.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := helpdesk.Config{Namespace: t.Name(), Routing: helpdesk.Routing{Default: helpdesk.Target{Helpdesk: "desk"}},
		Outbox: helpdesk.OutboxConfig{Path: "unused", Workers: 2, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
			UpdateInterval: time.Nanosecond, SyncInterval: -1}}
	open := func() *helpdesk.Outbox {
		o, err := helpdesk.Open(cfg, cat, helpdesk.Options{Records: st.HelpdeskRecords(), Connectors: map[string]helpdesk.Connector{"desk": d}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	in := tickets.Brief{Key: "acme/s1/prn1/paper_out", Tenant: "acme", Store: "s1", Device: "prn1", Kind: "receipt_printer",
		Fault: wire.FaultPaperOut, Priority: 2, FirstSeen: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Changed: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)}
	o := open()
	if err := o.Enqueue(context.Background(), helpdesk.Delivery{Incident: in, Kind: tickets.Opened, Occurrence: "1"}); err != nil {
		t.Fatal(err)
	}
	o.Close()
	o = open() // the queued call is in the database, not in the outbox's memory
	if o.Pending() != 1 {
		t.Fatalf("%d calls pending after a restart, want 1", o.Pending())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = o.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wait(t, "the refused call on the dead-letter list", func() bool { dl, _ := o.DeadLetters(); return len(dl) == 1 })
	dl, _ := o.DeadLetters()
	if err := o.Retry(dl[0].Seq); err != nil {
		t.Fatal(err)
	}
	wait(t, "the retried call delivered", func() bool { info, ok, _ := o.Ticket(in.Key, "1"); return ok && info.Ticket.ID == "1" })
	if dl, _ := o.DeadLetters(); len(dl) != 0 {
		t.Errorf("dead letters after the retry: %+v", dl)
	}
	if err := o.Discard(dl[0].Seq); !errors.Is(err, helpdesk.ErrNoDeadLetter) {
		t.Errorf("discarding a retried letter: %v", err)
	}
}

func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
