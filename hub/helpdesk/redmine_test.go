//go:build unix

package helpdesk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/testenv"
	"github.com/storewatch/storewatch/wire"
)

// redmineConfig delivers everything to the shared Redmine at url (the real
// one, or a gate in front of it). The namespace is unique per run, so tests
// never see each other's issues.
func redmineConfig(t *testing.T, env *redmineEnv, url string) Config {
	cfg := testConfig(t)
	cfg.Namespace = fmt.Sprintf("%s-%x", t.Name(), rand.Uint64())
	cfg.Helpdesks = []Helpdesk{{Name: "redmine", Type: "redmine", Redmine: &RedmineConfig{
		URL: url, APIKey: env.APIKey, Project: env.Project, TrackerID: env.TrackerID,
		Priorities: map[int]int{1: 5, 2: 4, 3: 3, 4: 2, 5: 1},
		CustomFields: RedmineFields{
			ExternalID: env.CustomFields.ExternalID, Store: env.CustomFields.Store,
			Device: env.CustomFields.Device, Serial: env.CustomFields.Serial,
		},
		Statuses: RedmineStatuses{
			Resolved: env.status(t, "Resolved"), Closed: env.status(t, "Closed"), Rejected: []int{env.status(t, "Rejected")},
		},
	}}}
	cfg.Routing.Default.Helpdesk = "redmine"
	cfg.Outbox.RetryMin, cfg.Outbox.RetryMax = 20*time.Millisecond, 300*time.Millisecond
	return cfg
}

func openReal(t *testing.T, cfg Config, fb Feedback) *Outbox {
	t.Helper()
	o, err := Open(cfg, catalog(t), Options{Feedback: fb, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func extOf(cfg Config, n Notification) string { return ExternalID(cfg.Namespace, n.TicketKey()) }

func TestRedmineFaultOpensExactlyOneIssue(t *testing.T) {
	env := needRedmine(t)
	cfg := redmineConfig(t, env, env.URL)
	fb := &recorder{}
	o := openReal(t, cfg, fb)
	running(t, o)
	in := incident("0001", "prn1", wire.FaultPaperOut)
	open := note(in, tickets.Opened)
	enqueue(t, o, open)
	drained(t, o)
	a := admin{env: env}
	is := a.oneIssue(t, extOf(cfg, open))
	if is.Subject != "Paper out: receipt printer at lane 2, Store 0001 (0001)" {
		t.Errorf("subject %q", is.Subject)
	}
	for _, want := range []string{"Serial number: SN-0001-prn1", "Model:         TM-T88VI", "Load a new paper roll", "Incident key: acme/0001/prn1/paper_out"} {
		if !strings.Contains(is.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, is.Description)
		}
	}
	if is.Tracker.ID != env.TrackerID || is.Priority.ID != 4 || is.Status.ID != env.status(t, "New") {
		t.Errorf("tracker %d priority %d status %d", is.Tracker.ID, is.Priority.ID, is.Status.ID)
	}
	for id, want := range map[int]string{env.CustomFields.Store: "0001", env.CustomFields.Device: "prn1", env.CustomFields.Serial: "SN-0001-prn1"} {
		if got := is.field(id); got != want {
			t.Errorf("custom field %d = %q, want %q", id, got, want)
		}
	}
	info, _, _ := o.Ticket(in.Key, "1")
	if info.Ticket.ID != strconv.Itoa(is.ID) || !strings.HasSuffix(info.Ticket.URL, "/issues/"+strconv.Itoa(is.ID)) {
		t.Errorf("stored ticket %+v for issue %d", info.Ticket, is.ID)
	}
	if links := fb.links(); len(links) != 1 || links[0].Ticket.ID != info.Ticket.ID {
		t.Errorf("feedback: %+v", links)
	}
	// The hub sending the same opening again changes nothing.
	enqueue(t, o, open)
	drained(t, o)
	if is := a.oneIssue(t, extOf(cfg, open)); len(is.notes()) != 0 {
		t.Errorf("notes after a repeated opening: %q", is.notes())
	}
}

// crashChildEnv carries the configuration to a copy of the test binary that
// delivers one call and kills itself (SIGKILL) right after Redmine answered
// the create, before the outbox stores the issue id.
const crashChildEnv = "STOREWATCH_HELPDESK_CRASH_CHILD"

func crashChild() {
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(crashChildEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cat, err := tickets.Load(tickets.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	o, err := Open(cfg, cat, Options{Logger: quiet})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	o.afterOpen = func() bool {
		fmt.Fprintln(os.Stderr, "crash child: Redmine created the issue; dying before storing its id")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	_ = o.Run(context.Background())
	os.Exit(3)
}

func TestRedmineCrashBetweenCreateAndStore(t *testing.T) {
	env := needRedmine(t)
	cfg := redmineConfig(t, env, env.URL)
	in := incident("0002", "scale1", wire.FaultScaleCalibration)
	in.Kind = "scale"
	open := note(in, tickets.Opened)
	o, err := Open(cfg, catalog(t), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, o, open)
	o.Close()

	data, _ := json.Marshal(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashChildEnv+"="+string(data))
	out, err := child.CombinedOutput()
	ws, _ := child.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child did not die by SIGKILL (%v):\n%s", err, out)
	}
	a := admin{env: env}
	created := a.oneIssue(t, extOf(cfg, open)) // Redmine has it...
	o = openReal(t, cfg, nil)
	info, _, _ := o.Ticket(in.Key, "1")
	if info.Ticket.ID != "" || o.Pending() != 1 { // ...the outbox does not know
		t.Fatalf("after the crash: ticket %+v, %d calls queued", info.Ticket, o.Pending())
	}
	running(t, o)
	drained(t, o)
	is := a.oneIssue(t, extOf(cfg, open))
	info, _, _ = o.Ticket(in.Key, "1")
	if is.ID != created.ID || info.Ticket.ID != strconv.Itoa(created.ID) {
		t.Errorf("after restart: issue %d, stored %q, created %d", is.ID, info.Ticket.ID, created.ID)
	}
}

func TestRedmineRecoveryClosesOrCommentsPerPolicy(t *testing.T) {
	env := needRedmine(t)
	cfg := redmineConfig(t, env, env.URL)
	o := openReal(t, cfg, nil)
	running(t, o)
	auto := incident("0003", "prn1", wire.FaultCoverOpen)
	auto.AutoClose = true
	manual := incident("0003", "lbl1", wire.FaultHeadFault)
	manual.Kind = "label_printer"
	enqueue(t, o, note(auto, tickets.Opened), note(manual, tickets.Opened))
	drained(t, o)
	enqueue(t, o, note(auto, tickets.Resolved), note(manual, tickets.Resolved))
	drained(t, o)
	a := admin{env: env}
	is := a.oneIssue(t, extOf(cfg, note(auto, tickets.Opened)))
	if is.Status.ID != env.status(t, "Resolved") || len(is.notes()) != 1 || !strings.Contains(is.notes()[0], `closed as "recovered by itself"`) {
		t.Errorf("auto-close: status %d, notes %q", is.Status.ID, is.notes())
	}
	is = a.oneIssue(t, extOf(cfg, note(manual, tickets.Opened)))
	if is.Status.ID != env.status(t, "New") || len(is.notes()) != 1 || !strings.Contains(is.notes()[0], "does not close this ticket by itself") {
		t.Errorf("comment only: status %d, notes %q", is.Status.ID, is.notes())
	}
	manual.ClosedBy, manual.Reason = "j.doe", "print head replaced"
	enqueue(t, o, note(manual, tickets.Closed))
	drained(t, o)
	is = a.oneIssue(t, extOf(cfg, note(manual, tickets.Opened)))
	if is.Status.ID != env.status(t, "Closed") || len(is.notes()) != 2 || !strings.Contains(is.notes()[1], "print head replaced") {
		t.Errorf("closed: status %d, notes %q", is.Status.ID, is.notes())
	}
}

func TestRedminePersonClosingIsRespected(t *testing.T) {
	env := needRedmine(t)
	cfg := redmineConfig(t, env, env.URL)
	fb := &recorder{}
	o := openReal(t, cfg, fb)
	running(t, o)
	a, person := admin{env: env}, admin{env: env, as: env.Person}

	// Rejected by a person, then the hub has more to say: nothing is posted.
	in := incident("0004", "pt1", wire.FaultPTHostUnreachable)
	in.Kind = "payment_terminal"
	enqueue(t, o, note(in, tickets.Opened))
	drained(t, o)
	is := a.oneIssue(t, extOf(cfg, note(in, tickets.Opened)))
	person.do(t, http.MethodPut, fmt.Sprintf("/issues/%d.json", is.ID), map[string]any{"issue": map[string]any{
		"status_id": env.status(t, "Rejected"), "notes": "Known provider outage, tracked elsewhere."}})
	flap := in
	flap.Flaps = 6
	recovered := in
	recovered.AutoClose = true
	enqueue(t, o, note(flap, tickets.Flapping), note(recovered, tickets.Resolved))
	drained(t, o)
	is = a.oneIssue(t, extOf(cfg, note(in, tickets.Opened)))
	if is.Status.ID != env.status(t, "Rejected") || !slices.Equal(is.notes(), []string{"Known provider outage, tracked elsewhere."}) {
		t.Errorf("after the person rejected it: status %d, notes %q", is.Status.ID, is.notes())
	}
	if fb.closedState(in.Key) != StateRejected {
		t.Errorf("the hub was not told: %v", fb.closed)
	}
	if info, _, _ := o.Ticket(in.Key, "1"); info.ClosedBy != StateRejected {
		t.Errorf("record: %+v", info)
	}

	// Closed by a person while nothing is queued: the periodic sync notices.
	other := incident("0004", "prn2", wire.FaultPaperJam)
	enqueue(t, o, note(other, tickets.Opened))
	drained(t, o)
	is = a.oneIssue(t, extOf(cfg, note(other, tickets.Opened)))
	person.do(t, http.MethodPut, fmt.Sprintf("/issues/%d.json", is.ID), map[string]any{"issue": map[string]any{"status_id": env.status(t, "Closed")}})
	o.Sync(context.Background())
	if fb.closedState(other.Key) != StateClosed {
		t.Fatalf("sync did not notice the close: %v", fb.closed)
	}
	enqueue(t, o, note(other, tickets.Resolved))
	if o.Pending() != 0 {
		t.Errorf("a call was queued for a ticket a person closed")
	}
}

func TestRedmineDownThenBackDeliversInOrder(t *testing.T) {
	env := needRedmine(t)
	g := newGate(t, strings.TrimPrefix(env.URL, "http://"))
	cfg := redmineConfig(t, env, "http://"+g.addr)
	o := openReal(t, cfg, nil)
	g.shut()
	a := incident("0005", "prn1", wire.FaultPaperOut)
	b := incident("0005", "scale1", wire.FaultScaleOverload)
	b.Kind = "scale"
	flap := a
	flap.Flaps = 5
	closed := a
	closed.Reason = "roll holder replaced"
	enqueue(t, o, note(a, tickets.Opened), note(b, tickets.Opened), note(flap, tickets.Flapping), note(a, tickets.Resolved), note(closed, tickets.Closed))
	running(t, o)
	testenv.WaitFor(t, time.Minute, "failed attempts while Redmine is down", func() bool { return attempts(t, o) >= 6 })
	ad := admin{env: env}
	if n := len(ad.issuesWith(t, extOf(cfg, note(a, tickets.Opened)))); n != 0 {
		t.Fatalf("%d issues while Redmine was unreachable", n)
	}
	if o.Pending() != 5 {
		t.Fatalf("%d calls held, want 5", o.Pending())
	}
	g.reopen(t)
	drained(t, o)
	is := ad.oneIssue(t, extOf(cfg, note(a, tickets.Opened)))
	notes := is.notes()
	if len(notes) != 3 || !strings.HasPrefix(notes[0], "Flapping:") || !strings.HasPrefix(notes[1], "Recovered:") ||
		!strings.HasPrefix(notes[2], "Closed:") || !strings.Contains(notes[2], "roll holder replaced") {
		t.Errorf("notes out of order or missing: %q", notes)
	}
	if is.Status.ID != env.status(t, "Closed") {
		t.Errorf("status %d", is.Status.ID)
	}
	ad.oneIssue(t, extOf(cfg, note(b, tickets.Opened)))
	if dead, _ := o.DeadLetters(); len(dead) != 0 {
		t.Errorf("dead letters: %+v", dead)
	}
}

// attempts adds up the failed attempts stored with the queued calls.
func attempts(t *testing.T, o *Outbox) int {
	n := 0
	_ = o.db.View(func(tx RecordsTx) error {
		return tx.Calls().Each(func(c QueuedCall) error {
			n += c.Attempts
			return nil
		})
	})
	return n
}

// gate is a TCP forwarder in front of Redmine that can be shut (connections
// refused, open ones cut) and reopened on the same address: Redmine down,
// as the hub sees it.
type gate struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
	wg           sync.WaitGroup
}

func newGate(t *testing.T, target string) *gate {
	g := &gate{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	g.serve(ln)
	t.Cleanup(func() { g.shut(); g.wg.Wait() })
	return g
}

func (g *gate) serve(ln net.Listener) {
	g.mu.Lock()
	g.ln = ln
	g.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", g.target)
			if err != nil {
				c.Close()
				continue
			}
			g.mu.Lock()
			g.conns[c], g.conns[up] = true, true
			g.mu.Unlock()
			g.wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer g.wg.Done()
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
}

func (g *gate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln != nil {
		g.ln.Close()
		g.ln = nil
	}
	for c := range g.conns {
		c.Close()
		delete(g.conns, c)
	}
}

func (g *gate) reopen(t *testing.T) {
	var ln net.Listener
	testenv.WaitFor(t, 10*time.Second, "the gate's port", func() bool {
		var err error
		ln, err = net.Listen("tcp", g.addr)
		return err == nil
	})
	g.serve(ln)
}
