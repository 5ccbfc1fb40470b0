//go:build unix

package redmine

import (
	"context"
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

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// redmineConfig delivers everything to the shared Redmine at url (the real
// one, or a gate in front of it). The namespace is unique per run, so tests
// never see each other's issues.
func redmineConfig(t *testing.T, env *redmineEnv, url string) helpdesk.Config {
	cfg := helpdesktest.Config(t)
	cfg.Namespace = fmt.Sprintf("%s-%x", t.Name(), rand.Uint64())
	cfg.Helpdesks = []helpdesk.Helpdesk{{Name: "redmine", Type: "redmine", Settings: &Config{
		URL: url, APIKey: env.APIKey, Project: env.Project, TrackerID: env.TrackerID,
		Priorities: map[int]int{1: 5, 2: 4, 3: 3, 4: 2, 5: 1}, Timeout: 30 * time.Second,
		CustomFields: Fields{
			ExternalID: env.CustomFields.ExternalID, Store: env.CustomFields.Store,
			Device: env.CustomFields.Device, Serial: env.CustomFields.Serial,
		},
		Statuses: Statuses{
			Resolved: env.status(t, "Resolved"), Closed: env.status(t, "Closed"), Rejected: []int{env.status(t, "Rejected")},
		},
	}}}
	cfg.Routing.Default.Helpdesk = "redmine"
	cfg.Outbox.RetryMin, cfg.Outbox.RetryMax = 20*time.Millisecond, 300*time.Millisecond
	return cfg
}

func openReal(t *testing.T, cfg helpdesk.Config, fb helpdesk.Feedback) *helpdesk.Outbox {
	t.Helper()
	return helpdesktest.Open(t, cfg, helpdesk.Options{Feedback: fb})
}

func extOf(cfg helpdesk.Config, n helpdesk.Delivery) string {
	return helpdesk.ExternalID(cfg.Namespace, n.TicketKey())
}

func TestRedmineFaultOpensExactlyOneIssue(t *testing.T) {
	env := needRedmine(t)
	cfg := redmineConfig(t, env, env.URL)
	fb := &helpdesktest.Recorder{}
	o := openReal(t, cfg, fb)
	helpdesktest.Running(t, o)
	in := helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut)
	open := helpdesktest.Note(in, tickets.Opened)
	helpdesktest.Enqueue(t, o, open)
	helpdesktest.Drained(t, o)
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
	if links := fb.Links(); len(links) != 1 || links[0].Ticket.ID != info.Ticket.ID {
		t.Errorf("feedback: %+v", links)
	}
	// The hub sending the same opening again changes nothing.
	helpdesktest.Enqueue(t, o, open)
	helpdesktest.Drained(t, o)
	if is := a.oneIssue(t, extOf(cfg, open)); len(is.notes()) != 0 {
		t.Errorf("notes after a repeated opening: %q", is.notes())
	}
}

// crashChildEnv carries the configuration (YAML) to a copy of the test
// binary that delivers one call and kills itself (SIGKILL) right after
// Redmine answered the create, before the outbox stores the issue id.
const crashChildEnv = "STOREWATCH_HELPDESK_CRASH_CHILD"

func crashChild() {
	var cfg helpdesk.Config
	if err := yaml.Unmarshal([]byte(os.Getenv(crashChildEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cat, err := tickets.Load(tickets.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	real, err := New(*cfg.Helpdesks[0].Settings.(*Config))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	o, err := helpdesk.Open(cfg, cat, helpdesk.Options{Logger: helpdesktest.Quiet,
		Connectors: map[string]helpdesk.Connector{"redmine": dyingAfterOpen{real}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_ = o.Run(context.Background())
	os.Exit(3)
}

// dyingAfterOpen is the Redmine connector in a process that dies as soon
// as Redmine has created the issue, before the outbox hears of it.
type dyingAfterOpen struct{ *Connector }

func (d dyingAfterOpen) Open(ctx context.Context, c helpdesk.Call) (helpdesk.Ticket, error) {
	t, err := d.Connector.Open(ctx, c)
	if err == nil {
		fmt.Fprintln(os.Stderr, "crash child: Redmine created the issue; dying before storing its id")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return t, err
}

func TestRedmineCrashBetweenCreateAndStore(t *testing.T) {
	env := needRedmine(t)
	cfg := redmineConfig(t, env, env.URL)
	in := helpdesktest.Incident("0002", "scale1", wire.FaultScaleCalibration)
	in.Kind = "scale"
	open := helpdesktest.Note(in, tickets.Opened)
	o, err := helpdesk.Open(cfg, helpdesktest.Catalog(t), helpdesk.Options{Logger: helpdesktest.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	helpdesktest.Enqueue(t, o, open)
	o.Close()

	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
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
	helpdesktest.Running(t, o)
	helpdesktest.Drained(t, o)
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
	helpdesktest.Running(t, o)
	auto := helpdesktest.Incident("0003", "prn1", wire.FaultCoverOpen)
	auto.AutoClose = true
	manual := helpdesktest.Incident("0003", "lbl1", wire.FaultHeadFault)
	manual.Kind = "label_printer"
	helpdesktest.Enqueue(t, o, helpdesktest.Note(auto, tickets.Opened), helpdesktest.Note(manual, tickets.Opened))
	helpdesktest.Drained(t, o)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(auto, tickets.Resolved), helpdesktest.Note(manual, tickets.Resolved))
	helpdesktest.Drained(t, o)
	a := admin{env: env}
	is := a.oneIssue(t, extOf(cfg, helpdesktest.Note(auto, tickets.Opened)))
	if is.Status.ID != env.status(t, "Resolved") || len(is.notes()) != 1 || !strings.Contains(is.notes()[0], `closed as "recovered by itself"`) {
		t.Errorf("auto-close: status %d, notes %q", is.Status.ID, is.notes())
	}
	is = a.oneIssue(t, extOf(cfg, helpdesktest.Note(manual, tickets.Opened)))
	if is.Status.ID != env.status(t, "New") || len(is.notes()) != 1 || !strings.Contains(is.notes()[0], "does not close this ticket by itself") {
		t.Errorf("comment only: status %d, notes %q", is.Status.ID, is.notes())
	}
	manual.ClosedBy, manual.Reason = "j.doe", "print head replaced"
	helpdesktest.Enqueue(t, o, helpdesktest.Note(manual, tickets.Closed))
	helpdesktest.Drained(t, o)
	is = a.oneIssue(t, extOf(cfg, helpdesktest.Note(manual, tickets.Opened)))
	if is.Status.ID != env.status(t, "Closed") || len(is.notes()) != 2 || !strings.Contains(is.notes()[1], "print head replaced") {
		t.Errorf("closed: status %d, notes %q", is.Status.ID, is.notes())
	}
}

func TestRedminePersonClosingIsRespected(t *testing.T) {
	env := needRedmine(t)
	cfg := redmineConfig(t, env, env.URL)
	fb := &helpdesktest.Recorder{}
	o := openReal(t, cfg, fb)
	helpdesktest.Running(t, o)
	a, person := admin{env: env}, admin{env: env, as: env.Person}

	// Rejected by a person, then the hub has more to say: nothing is posted.
	in := helpdesktest.Incident("0004", "pt1", wire.FaultPTHostUnreachable)
	in.Kind = "payment_terminal"
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened))
	helpdesktest.Drained(t, o)
	is := a.oneIssue(t, extOf(cfg, helpdesktest.Note(in, tickets.Opened)))
	person.do(t, http.MethodPut, fmt.Sprintf("/issues/%d.json", is.ID), map[string]any{"issue": map[string]any{
		"status_id": env.status(t, "Rejected"), "notes": "Known provider outage, tracked elsewhere."}})
	flap := in
	flap.Flaps = 6
	recovered := in
	recovered.AutoClose = true
	helpdesktest.Enqueue(t, o, helpdesktest.Note(flap, tickets.Flapping), helpdesktest.Note(recovered, tickets.Resolved))
	helpdesktest.Drained(t, o)
	is = a.oneIssue(t, extOf(cfg, helpdesktest.Note(in, tickets.Opened)))
	if is.Status.ID != env.status(t, "Rejected") || !slices.Equal(is.notes(), []string{"Known provider outage, tracked elsewhere."}) {
		t.Errorf("after the person rejected it: status %d, notes %q", is.Status.ID, is.notes())
	}
	if fb.ClosedState(in.Key) != helpdesk.StateRejected {
		t.Errorf("the hub was not told: %v", fb.ClosedState(in.Key))
	}
	if info, _, _ := o.Ticket(in.Key, "1"); info.ClosedBy != helpdesk.StateRejected {
		t.Errorf("record: %+v", info)
	}

	// Closed by a person while nothing is queued: the periodic sync notices.
	other := helpdesktest.Incident("0004", "prn2", wire.FaultPaperJam)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(other, tickets.Opened))
	helpdesktest.Drained(t, o)
	is = a.oneIssue(t, extOf(cfg, helpdesktest.Note(other, tickets.Opened)))
	person.do(t, http.MethodPut, fmt.Sprintf("/issues/%d.json", is.ID), map[string]any{"issue": map[string]any{"status_id": env.status(t, "Closed")}})
	o.Sync(context.Background())
	if fb.ClosedState(other.Key) != helpdesk.StateClosed {
		t.Fatalf("sync did not notice the close: %v", fb.ClosedState(other.Key))
	}
	helpdesktest.Enqueue(t, o, helpdesktest.Note(other, tickets.Resolved))
	if o.Pending() != 0 {
		t.Errorf("a call was queued for a ticket a person closed")
	}
}

func TestRedmineDownThenBackDeliversInOrder(t *testing.T) {
	env := needRedmine(t)
	g := newGate(t, strings.TrimPrefix(env.URL, "http://"))
	cfg := redmineConfig(t, env, "http://"+g.addr)
	real, err := New(*cfg.Helpdesks[0].Settings.(*Config))
	if err != nil {
		t.Fatal(err)
	}
	desk := &failing{Connector: real}
	o := helpdesktest.Open(t, cfg, helpdesk.Options{Connectors: map[string]helpdesk.Connector{"redmine": desk}})
	g.shut()
	a := helpdesktest.Incident("0005", "prn1", wire.FaultPaperOut)
	b := helpdesktest.Incident("0005", "scale1", wire.FaultScaleOverload)
	b.Kind = "scale"
	flap := a
	flap.Flaps = 5
	closed := a
	closed.Reason = "roll holder replaced"
	helpdesktest.Enqueue(t, o, helpdesktest.Note(a, tickets.Opened), helpdesktest.Note(b, tickets.Opened), helpdesktest.Note(flap, tickets.Flapping), helpdesktest.Note(a, tickets.Resolved), helpdesktest.Note(closed, tickets.Closed))
	helpdesktest.Running(t, o)
	testenv.WaitFor(t, time.Minute, "failed attempts while Redmine is down", func() bool { return desk.failures() >= 6 })
	ad := admin{env: env}
	if n := len(ad.issuesWith(t, extOf(cfg, helpdesktest.Note(a, tickets.Opened)))); n != 0 {
		t.Fatalf("%d issues while Redmine was unreachable", n)
	}
	if o.Pending() != 5 {
		t.Fatalf("%d calls held, want 5", o.Pending())
	}
	g.reopen(t)
	helpdesktest.Drained(t, o)
	is := ad.oneIssue(t, extOf(cfg, helpdesktest.Note(a, tickets.Opened)))
	notes := is.notes()
	if len(notes) != 3 || !strings.HasPrefix(notes[0], "Flapping:") || !strings.HasPrefix(notes[1], "Recovered:") ||
		!strings.HasPrefix(notes[2], "Closed:") || !strings.Contains(notes[2], "roll holder replaced") {
		t.Errorf("notes out of order or missing: %q", notes)
	}
	if is.Status.ID != env.status(t, "Closed") {
		t.Errorf("status %d", is.Status.ID)
	}
	ad.oneIssue(t, extOf(cfg, helpdesktest.Note(b, tickets.Opened)))
	if dead, _ := o.DeadLetters(); len(dead) != 0 {
		t.Errorf("dead letters: %+v", dead)
	}
}

// failing counts the calls the Redmine connector could not make.
type failing struct {
	*Connector
	mu     sync.Mutex
	failed int
}

func (f *failing) count(err error) {
	if err != nil {
		f.mu.Lock()
		f.failed++
		f.mu.Unlock()
	}
}

func (f *failing) Open(ctx context.Context, c helpdesk.Call) (helpdesk.Ticket, error) {
	t, err := f.Connector.Open(ctx, c)
	f.count(err)
	return t, err
}

func (f *failing) Post(ctx context.Context, t helpdesk.Ticket, c helpdesk.Call) error {
	err := f.Connector.Post(ctx, t, c)
	f.count(err)
	return err
}

func (f *failing) failures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
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
