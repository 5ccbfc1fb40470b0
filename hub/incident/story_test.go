package incident

import (
	"fmt"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// A world is one store with one agent, driven on virtual time. Every story
// below reads: set up a store, let devices fail and recover, advance the
// clock, and look at the tickets.
type world struct {
	t     *testing.T
	clk   *clock.Fake
	eng   *Engine
	id    wire.AgentID
	boot  string
	seq   uint64
	all   Changes
	final map[string]Incident // latest version of every incident
	order []string
}

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

// tuesday10 is a Tuesday at 10:00 in Berlin: the store has been open for two
// hours.
var tuesday10 = time.Date(2026, 11, 24, 10, 0, 0, 0, berlin)

func printer(id, loc string) wire.DeviceInfo {
	return wire.DeviceInfo{ID: id, Kind: "receipt_printer", Driver: "escpos", Location: loc, Criticality: wire.CriticalityHigh,
		Identity: &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: "X5E-" + id, Firmware: "30.01"}}
}

func terminal(id, loc string) wire.DeviceInfo {
	return wire.DeviceInfo{ID: id, Kind: "payment_terminal", Driver: "zvt", Location: loc, Criticality: wire.CriticalityCritical,
		Identity: &wire.Identity{Vendor: "Ingenico", Model: "Lane/3000", Serial: "PT-" + id}}
}

func scanner(id, loc string) wire.DeviceInfo {
	return wire.DeviceInfo{ID: id, Kind: "scanner", Driver: "ssi", Location: loc, Criticality: wire.CriticalityHigh,
		Identity: &wire.Identity{Vendor: "Zebra", Model: "DS2208", Serial: "SC-" + id}}
}

func newWorld(t *testing.T, start time.Time, hours map[string]string, devices ...wire.DeviceInfo) *world {
	t.Helper()
	return newWorldPolicy(t, start, hours, DefaultPolicy(), devices...)
}

func newWorldPolicy(t *testing.T, start time.Time, hours map[string]string, pol Policy, devices ...wire.DeviceInfo) *world {
	t.Helper()
	clk := clock.NewFake(start)
	w := &world{t: t, clk: clk, eng: New(Config{Policy: pol, Clock: clk}),
		id: wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice"}, final: map[string]Incident{}}
	th, err := wire.ParseTradingHours(hours)
	if err != nil {
		t.Fatal(err)
	}
	w.birth("boot-1")
	w.collect(w.eng.Inventory(&wire.Inventory{Header: w.header(0), StoreInfo: wire.StoreInfo{
		Name: "Acme Berlin Mitte", Address: "Invalidenstr. 1, 10115 Berlin", Country: "DE", TimeZone: "Europe/Berlin", Hours: th,
	}, Devices: devices}, clk.Now()))
	return w
}

func (w *world) header(seq uint64) wire.Header {
	return wire.Header{V: wire.Version, AgentID: w.id, Boot: w.boot, Seq: seq, Time: w.clk.Now()}
}

func (w *world) collect(c Changes) {
	for _, inc := range c.Incidents {
		if _, ok := w.final[inc.ID]; !ok {
			w.order = append(w.order, inc.ID)
		}
		w.final[inc.ID] = inc
	}
	w.all.Merge(c)
}

func (w *world) birth(boot string) { w.birthOn(boot, 0) }

// birthOn is the birth of the agent's conn-th connection of the boot.
func (w *world) birthOn(boot string, conn uint64) Outcome {
	w.boot = boot
	c, out := w.eng.Status(&wire.Status{Header: w.header(0), State: wire.PresenceOnline, Conn: conn}, w.clk.Now())
	w.collect(c)
	return out
}

// will is what the broker publishes when the agent's connection dies.
func (w *world) will(boot string) Outcome { return w.willOf(boot, 0) }

// willOf is the will registered with the agent's conn-th connection.
func (w *world) willOf(boot string, conn uint64) Outcome {
	h := w.header(0)
	h.Boot = boot
	c, out := w.eng.Status(&wire.Status{Header: h, State: wire.PresenceOffline, Conn: conn}, w.clk.Now())
	w.collect(c)
	return out
}

// restart is a new boot of the agent that starts now with a start-up grace
// (polling.grace), as its birth tells the hub.
func (w *world) restart(boot string, grace time.Duration) {
	w.boot = boot
	c, _ := w.eng.Status(&wire.Status{Header: w.header(0), State: wire.PresenceOnline, Started: w.clk.Now(), Grace: grace.Seconds()}, w.clk.Now())
	w.collect(c)
}

// report sends the device's state now, as the agent's collector would.
func (w *world) report(dev string, codes ...wire.FaultCode) *wire.Event {
	return w.reportSince(dev, w.clk.Now(), codes...)
}

// reportSince sends a state the agent confirms now that began at since
// (its first reading).
func (w *world) reportSince(dev string, since time.Time, codes ...wire.FaultCode) *wire.Event {
	return w.send(dev, w.clk.Now(), since, codes...)
}

// backlog delivers now an event the agent made at made (a fault present
// since then): one from an outbox or a broker's backlog.
func (w *world) backlog(dev string, made time.Time, codes ...wire.FaultCode) {
	w.send(dev, made, made, codes...)
}

// send delivers now the agent's next event, made at made.
func (w *world) send(dev string, made, since time.Time, codes ...wire.FaultCode) *wire.Event {
	w.seq++
	ev := &wire.Event{Header: w.header(w.seq), Device: dev, Since: since}
	ev.Header.Type, ev.Header.Time = wire.TypeEvent, made
	for _, c := range codes {
		ev.Faults = append(ev.Faults, wire.NewFault(c, ""))
	}
	ev.State = wire.StateOf(ev.Faults)
	c, _ := w.eng.Event(ev, w.clk.Now())
	w.collect(c)
	return ev
}

// advance moves virtual time on by d, running every engine deadline on the
// way exactly when it falls due.
func (w *world) advance(d time.Duration) {
	w.t.Helper()
	end := w.clk.Now().Add(d)
	for i := 0; ; i++ {
		if i > 100000 {
			w.t.Fatal("the engine keeps asking for ticks at the same time")
		}
		next := w.eng.NextDeadline()
		if next.IsZero() || next.After(end) {
			break
		}
		w.clk.Set(next)
		w.collect(w.eng.Tick())
		if w.eng.NextDeadline().Equal(next) {
			w.clk.Advance(time.Second)
		}
	}
	w.clk.Set(end)
	w.collect(w.eng.Tick())
}

func (w *world) incidents(kind Kind) []Incident {
	var out []Incident
	for _, id := range w.order {
		if inc := w.final[id]; inc.Kind == kind {
			out = append(out, inc)
		}
	}
	return out
}

func (w *world) notifications(kind NotificationKind) int {
	n := 0
	for _, x := range w.all.Notifications {
		if x.Kind == kind {
			n++
		}
	}
	return n
}

func (w *world) device(id string) DeviceRecord {
	for _, d := range w.eng.Devices() {
		if d.ID == id {
			return d
		}
	}
	w.t.Fatalf("no device %s", id)
	return DeviceRecord{}
}

var tradingHours = map[string]string{"mon-sat": "08:00-20:00", "sun": "closed"}

func TestStoryPrinterOutOfPaperForTenMinutesGivesOneTicket(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane3", "lane 3"))
	w.report("receipt-lane3", wire.FaultPaperOut)
	for range 10 { // the agent reports again every minute; nothing new
		w.advance(time.Minute)
	}
	got := w.incidents(KindFault)
	if len(got) != 1 {
		t.Fatalf("want exactly one ticket, got %d: %+v", len(got), got)
	}
	inc := got[0]
	if inc.Facts.Model != "TM-T88VI" || inc.Facts.Serial != "X5E-receipt-lane3" || inc.Facts.Vendor != "EPSON" {
		t.Errorf("ticket lacks the device identity: %+v", inc.Facts)
	}
	if inc.Facts.Location != "lane 3" || inc.Facts.StoreName != "Acme Berlin Mitte" || inc.Facts.Remedy != wire.RemedyStore || inc.Facts.Runbook == "" {
		t.Errorf("ticket lacks what first-line support asks: %+v", inc.Facts)
	}
	if !inc.OpenedAt.Equal(tuesday10.Add(2*time.Minute)) || !inc.FirstSeen.Equal(tuesday10) {
		t.Errorf("opened %v (first seen %v), want after the 2m hold-down", inc.OpenedAt, inc.FirstSeen)
	}
	if inc.State != StateOpen || inc.ResponseDue.IsZero() || inc.ResolutionDue.Before(inc.ResponseDue) {
		t.Errorf("state %s, SLA due %v / %v", inc.State, inc.ResponseDue, inc.ResolutionDue)
	}
	if w.notifications(NotifyOpened) != 1 {
		t.Errorf("%d opened notifications, want 1", w.notifications(NotifyOpened))
	}
	// Staff load paper: two minutes later the ticket resolves by itself.
	w.report("receipt-lane3")
	w.advance(3 * time.Minute)
	inc = w.final[inc.ID]
	if inc.State != StateResolved || inc.Resolution != ResolutionRecovered {
		t.Errorf("after refill: state %s resolution %q", inc.State, inc.Resolution)
	}
}

func TestStoryTwentySecondBlipGivesNoTicket(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane3", "lane 3"))
	w.report("receipt-lane3", wire.FaultUnreachable)
	w.advance(20 * time.Second)
	w.report("receipt-lane3")
	w.advance(time.Hour)
	if n := len(w.final); n != 0 {
		t.Fatalf("a 20 s blip opened %d incidents", n)
	}
	var ep *LogEntry
	for i, l := range w.all.Log {
		if l.Kind == LogEpisode {
			ep = &w.all.Log[i]
		}
	}
	if ep == nil || ep.Suppressed != "hold_down" || ep.Duration != 20 {
		t.Errorf("the blip should still be in the event log as an episode held down: %+v", ep)
	}
}

func TestStoryStaggeredStartAfterOpeningGivesNoTicket(t *testing.T) {
	at750 := time.Date(2026, 11, 24, 7, 50, 0, 0, berlin)
	devs := []wire.DeviceInfo{printer("receipt-lane1", "lane 1"), printer("receipt-lane2", "lane 2"),
		terminal("pt-lane1", "lane 1"), scanner("scan-lane1", "lane 1")}
	w := newWorld(t, at750, tradingHours, devs...)
	for _, d := range devs { // the lights come on; nothing is up yet
		w.report(d.ID, wire.FaultUnreachable)
	}
	w.advance(11 * time.Minute) // 08:01: the store opens at 08:00
	for _, d := range devs {    // one by one, every couple of minutes
		w.report(d.ID)
		w.advance(2 * time.Minute)
	}
	w.advance(time.Hour)
	if n := len(w.final); n != 0 {
		t.Fatalf("devices coming up after opening opened %d incidents: %+v", n, w.incidents(KindFault))
	}
}

// The store PC restarts during trading hours; its agent has a 15 s start-up
// grace and the hub a 30 s hold-down. The agent reports nothing during the
// grace; a device still down at its end is reported then, down since its
// first reading. Its hold-down counts from the end of the grace: a device
// up within grace + hold-down (45 s) of the agent's start opens nothing.
func TestStoryDeviceLateAfterAStorePCRestartGivesNoTicket(t *testing.T) {
	pol := DefaultPolicy()
	pol.Rules = map[string]Rule{string(wire.FaultUnreachable): {HoldDown: 30 * time.Second, HoldUp: time.Minute, OnRecovery: RecoveryClose}}
	w := newWorldPolicy(t, tuesday10, tradingHours, pol, printer("receipt-lane1", "lane 1"), scanner("scan-lane1", "lane 1"),
		printer("receipt-lane2", "lane 2"))
	for _, d := range []string{"receipt-lane1", "scan-lane1", "receipt-lane2"} {
		w.report(d)
	}
	w.advance(time.Minute)
	w.restart("boot-2", 15*time.Second)
	start := w.clk.Now()
	w.advance(20 * time.Second) // the first reading after the grace
	w.reportSince("receipt-lane1", start, wire.FaultUnreachable)
	w.reportSince("scan-lane1", start, wire.FaultUnreachable)
	w.advance(20 * time.Second) // 40 s: the printer is up; the scanner never comes
	w.report("receipt-lane1")
	w.advance(time.Minute) // 100 s: the other printer fails for good
	w.report("receipt-lane2", wire.FaultUnreachable)
	w.advance(10 * time.Minute)

	got := w.incidents(KindFault)
	if len(got) != 2 {
		t.Fatalf("want tickets for the scanner and the printer that failed after the start, got %d: %+v", len(got), got)
	}
	if inc := got[0]; inc.Device != "scan-lane1" || !inc.OpenedAt.Equal(start.Add(45*time.Second)) || !inc.FirstSeen.Equal(start) {
		t.Errorf("the scanner down since the start opens at grace + hold-down (%v), first seen at the start: %+v",
			start.Add(45*time.Second), inc)
	}
	if inc := got[1]; inc.Device != "receipt-lane2" || !inc.OpenedAt.Equal(start.Add(130*time.Second)) {
		t.Errorf("a fault that began after the grace has the plain hold-down: opened %v, want %v", inc.OpenedAt, start.Add(130*time.Second))
	}
	var ep *LogEntry
	for i, l := range w.all.Log {
		if l.Kind == LogEpisode && l.Device == "receipt-lane1" {
			ep = &w.all.Log[i]
		}
	}
	if ep == nil || ep.Suppressed != "startup" || ep.Duration != 40 {
		t.Errorf("the late printer's 40 s episode is logged as held by the start-up: %+v", ep)
	}
	if a := w.eng.Agents()[0]; !a.Started.Equal(start) || !a.GraceUntil.Equal(start.Add(15*time.Second)) {
		t.Errorf("agent start %v, grace until %v", a.Started, a.GraceUntil)
	}
}

func TestStoryFaultFromClosedHoursThatPersistsOpensAfterGrace(t *testing.T) {
	night := time.Date(2026, 11, 24, 3, 0, 0, 0, berlin)
	w := newWorld(t, night, tradingHours, printer("receipt-lane1", "lane 1"))
	w.report("receipt-lane1", wire.FaultPaperJam)
	w.advance(5 * time.Hour) // 08:00 opening
	if len(w.final) != 0 {
		t.Fatal("an incident opened while the store was closed")
	}
	w.advance(15 * time.Minute)
	got := w.incidents(KindFault)
	if len(got) != 1 {
		t.Fatalf("want one ticket once the store is open past its grace, got %d", len(got))
	}
	if want := time.Date(2026, 11, 24, 8, 10, 0, 0, berlin); !got[0].OpenedAt.Equal(want) {
		t.Errorf("opened at %v, want opening plus 10m grace %v", got[0].OpenedAt.In(berlin), want)
	}
}

func TestStoryFaultThatFixesItselfIsClosedAsSuchAndCounted(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, terminal("pt-lane2", "lane 2"))
	w.report("pt-lane2", wire.FaultUnreachable)
	w.advance(5 * time.Minute) // opened at 3m
	w.report("pt-lane2")
	w.advance(90 * time.Second)
	got := w.incidents(KindFault)
	if len(got) != 1 || got[0].State != StateOpen {
		t.Fatalf("within the hold-up the incident stays open: %+v", got)
	}
	w.advance(time.Minute)
	inc := w.final[got[0].ID]
	if inc.State != StateResolved || inc.Resolution != ResolutionRecovered || inc.Active {
		t.Fatalf("after the hold-up: state %s resolution %q active %v", inc.State, inc.Resolution, inc.Active)
	}
	if !inc.RecoveredAt.Equal(tuesday10.Add(5 * time.Minute)) {
		t.Errorf("recovered at %v", inc.RecoveredAt)
	}
	if w.notifications(NotifyResolved) != 1 {
		t.Errorf("%d resolved notifications", w.notifications(NotifyResolved))
	}
	if _, live := w.eng.Live(inc.ID); live {
		t.Error("a resolved incident is still live")
	}
	resolved := 0
	for _, l := range w.all.Log {
		if l.Kind == LogIncident && l.State == "resolved" && l.Incident == inc.ID {
			resolved++
		}
	}
	if resolved != 1 {
		t.Errorf("the self-resolution is recorded %d times in the event log, want 1", resolved)
	}
}

func TestStoryHardwareFaultOpensAtOnceAndWaitsForATechnician(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, terminal("pt-lane2", "lane 2"))
	w.report("pt-lane2", wire.FaultPTHardware)
	w.advance(0)
	got := w.incidents(KindFault)
	if len(got) != 1 || !got[0].OpenedAt.Equal(tuesday10) {
		t.Fatalf("pt_hardware_fault should open at once: %+v", got)
	}
	w.report("pt-lane2")
	w.advance(time.Hour)
	inc := w.final[got[0].ID]
	if inc.State != StateOpen || inc.Active || inc.RecoveredAt.IsZero() {
		t.Fatalf("a hardware fault that cleared is commented, not closed: %+v", inc)
	}
	c, err := w.eng.Close(inc.ID, "tech@example", "replaced the card reader")
	if err != nil {
		t.Fatal(err)
	}
	w.collect(c)
	if inc := w.final[inc.ID]; inc.State != StateClosed || inc.Resolution != ResolutionClosed {
		t.Errorf("after the technician closes: %+v", inc)
	}
}

func TestStorySameFaultFiveTimesInAWeekOpensAChronicProblem(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("label-deli", "deli"))
	for day := range 5 {
		w.report("label-deli", wire.FaultPaperJam)
		w.advance(10 * time.Minute) // long enough for a ticket (5m hold-down)
		w.report("label-deli")
		w.advance(24*time.Hour - 10*time.Minute)
		if n := len(w.incidents(KindChronic)); day < 4 && n != 0 {
			t.Fatalf("chronic after only %d occurrences", day+1)
		}
	}
	chronic := w.incidents(KindChronic)
	if len(chronic) != 1 {
		t.Fatalf("want one chronic-problem incident, got %d", len(chronic))
	}
	if c := chronic[0]; c.Occurrences != 5 || c.State != StateOpen || c.Facts.Serial != "X5E-label-deli" {
		t.Errorf("chronic incident: %+v", c)
	}
	faults := w.incidents(KindFault)
	if len(faults) != 5 {
		t.Fatalf("each jam is its own ticket: got %d", len(faults))
	}
	for i, f := range faults {
		if f.State != StateResolved || f.OccurrencesBefore != i {
			t.Errorf("ticket %d: state %s, occurrences before %d", i, f.State, f.OccurrencesBefore)
		}
	}
	if w.notifications(NotifyChronic) != 1 {
		t.Errorf("%d chronic notifications", w.notifications(NotifyChronic))
	}
	// A sixth jam does not open a second chronic incident.
	w.report("label-deli", wire.FaultPaperJam)
	w.advance(10 * time.Minute)
	if n := len(w.incidents(KindChronic)); n != 1 {
		t.Errorf("%d chronic incidents after a sixth jam", n)
	}
}

func TestStoryStoreLosesItsWANLink(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"), terminal("pt-lane1", "lane 1"))
	w.report("receipt-lane1")
	w.report("pt-lane1")
	w.report("receipt-lane1", wire.FaultPaperOut) // a minute before the link goes
	w.advance(time.Minute)
	w.will("boot-1")
	if d := w.device("pt-lane1"); d.State != wire.StateStale {
		t.Errorf("device of an offline agent: state %s, want stale", d.State)
	}
	w.advance(2 * time.Hour)
	if n := len(w.incidents(KindFault)); n != 0 {
		t.Fatalf("stale devices opened %d device tickets", n)
	}
	store := w.incidents(KindAgentOffline)
	if len(store) != 1 {
		t.Fatalf("want one store incident, got %d", len(store))
	}
	if inc := store[0]; !inc.OpenedAt.Equal(tuesday10.Add(4*time.Minute)) || inc.Priority > 2 {
		t.Errorf("store incident opened %v with P%d", inc.OpenedAt, inc.Priority)
	}
	// The link comes back: the agent reconnects (same boot: the PC never
	// stopped) and reports the printer refilled meanwhile.
	w.birth("boot-1")
	w.report("receipt-lane1")
	w.advance(2 * time.Minute)
	if inc := w.final[store[0].ID]; inc.State != StateResolved || inc.Resolution != ResolutionRecovered {
		t.Errorf("after reconnect: store incident %s %s", inc.State, inc.Resolution)
	}
	if d := w.device("pt-lane1"); d.State != wire.StateOK {
		t.Errorf("after reconnect the device is %s", d.State)
	}
	if n := len(w.incidents(KindFault)); n != 0 {
		t.Errorf("reconnecting opened %d device tickets", n)
	}
}

func TestStoryLateWillFromAnEarlierBootIsIgnored(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"))
	w.birth("boot-2") // the PC rebooted; the broker's will for boot-1 comes late
	if out := w.will("boot-1"); out != Ignored {
		t.Errorf("late will: %v", out)
	}
	w.advance(time.Hour)
	if len(w.final) != 0 {
		t.Fatalf("a stale will opened an incident")
	}
	if a := w.eng.Agents()[0]; !a.Online || a.Boot != "boot-2" || a.IgnoredWills != 1 {
		t.Errorf("agent after a stale will: %+v", a)
	}
}

// The agent reconnects before the broker noticed its old connection was
// dead (a WAN blip, a slow broker): the broker takes the session over and
// publishes the old connection's will, here after the new birth. The
// agent is online all along; only a will of its current connection counts.
func TestStoryWillOfAReplacedConnectionIsIgnored(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"))
	w.birthOn("boot-1", 1)
	w.advance(time.Minute)
	if out := w.birthOn("boot-1", 2); out != Applied {
		t.Errorf("birth of a new connection while online: %v", out)
	}
	if out := w.willOf("boot-1", 1); out != Ignored {
		t.Errorf("will of the replaced connection: %v", out)
	}
	if out := w.birthOn("boot-1", 1); out != Ignored {
		t.Errorf("a redelivered birth of the replaced connection: %v", out)
	}
	w.advance(time.Hour)
	if len(w.final) != 0 {
		t.Fatalf("the will of a replaced connection opened %d incidents", len(w.final))
	}
	if a := w.eng.Agents()[0]; !a.Online || a.Conn != 2 || a.IgnoredWills != 1 {
		t.Errorf("agent after the takeover will: %+v", a)
	}
	// The current connection's will is a real outage, and a birth on the
	// next connection ends it.
	if out := w.willOf("boot-1", 2); out != Applied {
		t.Errorf("will of the current connection: %v", out)
	}
	w.advance(10 * time.Minute)
	if n := len(w.incidents(KindAgentOffline)); n != 1 {
		t.Fatalf("a real outage opened %d store incidents, want 1", n)
	}
	if out := w.birthOn("boot-1", 2); out != Ignored {
		t.Errorf("the birth of the connection that died, after its will: %v", out)
	}
	if a := w.eng.Agents()[0]; a.Online {
		t.Errorf("online again on a dead connection's birth: %+v", a)
	}
	if out := w.birthOn("boot-1", 3); out != Applied {
		t.Errorf("birth after the outage: %v", out)
	}
	if a := w.eng.Agents()[0]; !a.Online || a.Conn != 3 {
		t.Errorf("agent after reconnecting: %+v", a)
	}
}

func TestStoryFlappingScannerGivesOneIncidentMarkedFlapping(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, scanner("scan-lane4", "lane 4"))
	for range 20 { // twenty minutes of 20 s outages every minute
		w.report("scan-lane4", wire.FaultUnreachable)
		w.advance(20 * time.Second)
		w.report("scan-lane4")
		w.advance(40 * time.Second)
	}
	got := w.incidents(KindFault)
	if len(got) != 1 {
		t.Fatalf("want one incident for a flapping scanner, got %d", len(got))
	}
	if !got[0].Flapping || got[0].State != StateOpen {
		t.Errorf("incident: flapping %v state %s", got[0].Flapping, got[0].State)
	}
	if w.notifications(NotifyOpened) != 1 || w.notifications(NotifyResolved) != 0 {
		t.Errorf("a storm: %d opened, %d resolved", w.notifications(NotifyOpened), w.notifications(NotifyResolved))
	}
	w.advance(20 * time.Minute) // quiet: it leaves flapping and resolves
	inc := w.final[got[0].ID]
	if inc.Flapping || inc.State != StateResolved {
		t.Errorf("after a quiet period: flapping %v state %s", inc.Flapping, inc.State)
	}
}

func TestStoryEveryPaymentTerminalDownOutranksOne(t *testing.T) {
	pts := []wire.DeviceInfo{terminal("pt-1", "lane 1"), terminal("pt-2", "lane 2"), terminal("pt-3", "lane 3"), terminal("pt-4", "lane 4")}
	one := newWorld(t, tuesday10, tradingHours, pts...)
	one.report("pt-2", wire.FaultUnreachable)
	one.advance(10 * time.Minute)

	all := newWorld(t, tuesday10, tradingHours, pts...)
	for _, p := range pts {
		all.report(p.ID, wire.FaultUnreachable)
	}
	all.advance(10 * time.Minute)

	single := one.incidents(KindFault)
	every := all.incidents(KindFault)
	if len(single) != 1 || len(every) != 4 {
		t.Fatalf("tickets: %d and %d", len(single), len(every))
	}
	for _, inc := range every {
		if inc.Priority >= single[0].Priority {
			t.Errorf("all terminals down gives P%d for %s, one down gives P%d", inc.Priority, inc.Device, single[0].Priority)
		}
		if !inc.ResolutionDue.Before(single[0].ResolutionDue) {
			t.Errorf("higher priority should be due sooner: %v vs %v", inc.ResolutionDue, single[0].ResolutionDue)
		}
	}
}

func TestStoryPriorityRisesAsMoreTerminalsFail(t *testing.T) {
	pts := []wire.DeviceInfo{terminal("pt-1", "lane 1"), terminal("pt-2", "lane 2")}
	w := newWorld(t, tuesday10, tradingHours, pts...)
	w.report("pt-1", wire.FaultUnreachable)
	w.advance(5 * time.Minute)
	first := w.incidents(KindFault)[0]
	w.report("pt-2", wire.FaultUnreachable)
	w.advance(time.Second)
	if now := w.final[first.ID]; now.Priority >= first.Priority {
		t.Errorf("priority stayed P%d when the second terminal failed", now.Priority)
	}
}

func TestStoryNothingOpensDuringMaintenance(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"), printer("receipt-lane2", "lane 2"))
	_, c, err := w.eng.AddWindow(Window{Tenant: "acme", Store: "s0042", Start: tuesday10, End: tuesday10.Add(time.Hour), Reason: "printer swap", CreatedBy: "tech"})
	if err != nil {
		t.Fatal(err)
	}
	w.collect(c)
	w.report("receipt-lane1", wire.FaultUnreachable) // unplugged for the swap, back in time
	w.report("receipt-lane2", wire.FaultCoverOpen)   // left open by the engineer
	w.advance(40 * time.Minute)
	w.report("receipt-lane1")
	w.advance(20 * time.Minute)
	if len(w.final) != 0 {
		t.Fatal("an incident opened during maintenance")
	}
	w.advance(15 * time.Minute)
	got := w.incidents(KindFault)
	if len(got) != 1 || got[0].Device != "receipt-lane2" || !got[0].OpenedAt.Equal(tuesday10.Add(70*time.Minute)) {
		t.Fatalf("after the window plus grace only the cover left open opens: %+v", got)
	}
}

func TestDuplicateAndOutOfOrderDeliveriesChangeNothing(t *testing.T) {
	// Record the agent's messages once, then deliver them again: in order,
	// twice, and shuffled (newer before older). The tickets must not change.
	script := func(w *world) []*wire.Event {
		var evs []*wire.Event
		evs = append(evs, w.report("receipt-lane1", wire.FaultPaperOut))
		w.advance(5 * time.Minute)
		evs = append(evs, w.report("receipt-lane1"))
		evs = append(evs, w.report("pt-lane1", wire.FaultUnreachable))
		w.advance(10 * time.Minute)
		return evs
	}
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"), terminal("pt-lane1", "lane 1"))
	evs := script(w)
	// The devices' recent changes (for flap counting) age out with time,
	// which is not what this test is about.
	state := func() string {
		devs := w.eng.Devices()
		for i := range devs {
			devs[i].Changes = nil
		}
		return fmt.Sprint(w.eng.LiveIncidents(), devs)
	}
	before := state()
	n := len(w.final)
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2, 2, 0}} {
		for _, i := range order {
			c, out := w.eng.Event(evs[i], w.clk.Now())
			if out != Duplicate {
				t.Errorf("redelivered seq %d: %v", evs[i].Seq, out)
			}
			w.collect(c)
		}
		w.advance(time.Minute)
	}
	// A message the hub never saw, older than what the device reported,
	// changes nothing either.
	old := *evs[0]
	old.Seq = 1 // below the first seq the hub saw: treated as history
	c, out := w.eng.Event(&old, w.clk.Now())
	w.collect(c)
	if out == Applied {
		t.Errorf("an out-of-order event was applied")
	}
	w.advance(time.Hour)
	if after := state(); after != before || len(w.final) != n {
		t.Errorf("redelivery changed the state:\nbefore %s\nafter  %s", before, after)
	}
	if a := w.eng.Agents()[0]; a.Seq.Duplicates < 8 {
		t.Errorf("duplicates counted: %d", a.Seq.Duplicates)
	}
}

func TestEventOlderThanTheDevicesLatestIsOutOfOrder(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"))
	w.seq = 10
	e1 := w.report("receipt-lane1", wire.FaultPaperOut) // seq 11
	w.seq = 12
	w.report("receipt-lane1") // seq 13: seq 12 is a gap
	late := *e1
	late.Seq = 12 // arrives late, but it is older news than seq 13
	c, out := w.eng.Event(&late, w.clk.Now())
	w.collect(c)
	if out != OutOfOrder {
		t.Fatalf("outcome %v, want out_of_order", out)
	}
	w.advance(time.Hour)
	if len(w.final) != 0 || w.device("receipt-lane1").State != wire.StateOK {
		t.Errorf("a late event overrode newer state")
	}
	if a := w.eng.Agents()[0]; a.Seq.Gaps != 1 || a.Seq.Late != 1 || a.Seq.Outstanding() != 0 {
		t.Errorf("gap accounting: %+v", a.Seq)
	}
}

func TestStoryReplayedOutboxAfterAnOutage(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"), printer("receipt-lane2", "lane 2"))
	// The WAN link was down from 10:00 to 11:00; the agent kept recording.
	// At 11:00 its outbox drains: lane 1 ran out of paper at 10:05 and was
	// refilled at 10:20; lane 2 jammed at 10:30 and still is.
	w.clk.Set(tuesday10.Add(time.Hour))
	w.backlog("receipt-lane1", tuesday10.Add(5*time.Minute), wire.FaultPaperOut)
	w.advance(5 * time.Second) // the backlog drains at a bounded rate
	w.backlog("receipt-lane1", tuesday10.Add(20*time.Minute))
	w.backlog("receipt-lane2", tuesday10.Add(30*time.Minute), wire.FaultPaperJam)
	w.advance(30 * time.Second)
	if len(w.final) != 0 {
		t.Fatalf("replayed history opened tickets before it settled: %+v", w.incidents(KindFault))
	}
	w.advance(time.Minute)
	got := w.incidents(KindFault)
	if len(got) != 1 || got[0].Device != "receipt-lane2" || !got[0].FirstSeen.Equal(tuesday10.Add(30*time.Minute)) {
		t.Fatalf("want one ticket for the jam that is still there, first seen when it began: %+v", got)
	}
}

// A chain that runs hold-downs of seconds: a hub replica died and another
// took its stores over; their messages waited 20 s in the broker and now
// drain. A lane's printer ran out of paper for 2.5 s at the start of that
// wait (its refill is a few messages further in the backlog), lane 2's
// jammed and still is. The 20 s are more than half the 10 s hold-down,
// so the backlog counts as a replay: the blip opens nothing, the jam opens
// a hold-down after the hub saw it. A live fault keeps the plain hold-down.
func TestStoryTakeoverBacklogShorterThanAMinuteIsAReplay(t *testing.T) {
	pol := DefaultPolicy()
	rule := Rule{HoldDown: 10 * time.Second, HoldUp: 5 * time.Second, OnRecovery: RecoveryClose}
	pol.Rules = map[string]Rule{string(wire.FaultPaperOut): rule, string(wire.FaultPaperJam): rule}
	w := newWorldPolicy(t, tuesday10, tradingHours, pol, printer("receipt-lane1", "lane 1"), printer("receipt-lane2", "lane 2"),
		printer("receipt-lane3", "lane 3"))
	for _, d := range []string{"receipt-lane1", "receipt-lane2", "receipt-lane3"} {
		w.report(d)
	}
	w.advance(time.Minute)
	t0 := w.clk.Now()
	w.advance(20 * time.Second) // the takeover: lease, snapshot, then the backlog
	w.backlog("receipt-lane1", t0, wire.FaultPaperOut)
	w.backlog("receipt-lane2", t0.Add(time.Second), wire.FaultPaperJam)
	w.advance(2 * time.Second) // the backlog drains at a bounded rate
	w.backlog("receipt-lane1", t0.Add(2500*time.Millisecond))
	w.advance(time.Minute)

	got := w.incidents(KindFault)
	if len(got) != 1 || got[0].Device != "receipt-lane2" {
		t.Fatalf("want one ticket, for the jam that is still there, got %+v", got)
	}
	if opened := got[0].OpenedAt; !opened.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("the jam seen 20 s late opened %v after the wait, want its hold-down after the hub saw it (30 s)", opened.Sub(t0))
	}
	if !got[0].FirstSeen.Equal(t0.Add(time.Second)) {
		t.Errorf("first seen %v, want when the agent saw the jam", got[0].FirstSeen)
	}

	live := w.clk.Now()
	w.send("receipt-lane3", live.Add(-3*time.Second), live, wire.FaultPaperJam) // 3 s in transit: less than half the hold-down
	w.advance(time.Minute)
	for _, inc := range w.incidents(KindFault) {
		if inc.Device == "receipt-lane3" && !inc.OpenedAt.Equal(live.Add(10*time.Second)) {
			t.Errorf("a live fault opened %v after it began, want the plain hold-down (10 s)", inc.OpenedAt.Sub(live))
		}
	}
	if n := len(w.incidents(KindFault)); n != 2 {
		t.Errorf("want the live jam's ticket too, got %d tickets", n)
	}
}

// A replica took this store over: its engine was restored from the ticket
// store and listens while the broker delivers what it kept for the store
// meanwhile. In that backlog lane 1's printer ran out of paper for 2.5 s
// and lane 2's jammed for good, and reading it took longer than their
// hold-down: nothing is decided until the broker says the backlog is read,
// then the jam opens at once and the blip never does.
func TestStoryTakeoverListensUntilTheBacklogIsRead(t *testing.T) {
	pol := DefaultPolicy()
	rule := Rule{HoldDown: 10 * time.Second, HoldUp: 5 * time.Second, OnRecovery: RecoveryClose}
	pol.Rules = map[string]Rule{string(wire.FaultPaperOut): rule, string(wire.FaultPaperJam): rule}
	w := newWorldPolicy(t, tuesday10, tradingHours, pol, printer("receipt-lane1", "lane 1"), printer("receipt-lane2", "lane 2"))
	w.report("receipt-lane1")
	w.report("receipt-lane2")
	w.advance(time.Minute)

	t0 := w.clk.Now()
	w.eng.Listen(t0.Add(time.Minute))
	w.report("receipt-lane1", wire.FaultPaperOut) // as fresh as they come: nothing says they are late
	w.report("receipt-lane2", wire.FaultPaperJam)
	w.advance(15 * time.Second) // both hold-downs pass while the backlog is read
	w.report("receipt-lane1")
	if n := len(w.incidents(KindFault)); n != 0 {
		t.Fatalf("an engine that listens opened %d tickets", n)
	}
	if !w.eng.Listening() || !w.eng.Heard() || w.eng.Listening() {
		t.Fatal("Heard ends listening")
	}
	w.advance(time.Second)
	got := w.incidents(KindFault)
	if len(got) != 1 || got[0].Device != "receipt-lane2" || !got[0].OpenedAt.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("want the jam's ticket when the backlog was read (15 s) and none for the blip, got %+v", got)
	}
	if w.eng.Heard() {
		t.Error("Heard again reports that the engine was listening")
	}
}

// A broker that never says it delivered the backlog (a marker lost, or
// refused by its ACL) holds the decisions only until the limit.
func TestStoryListeningEndsAtItsLimit(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"))
	w.report("receipt-lane1")
	w.advance(time.Minute)
	t0 := w.clk.Now()
	w.eng.Listen(t0.Add(time.Minute))
	w.report("receipt-lane1", wire.FaultHeadFault) // no hold-down: at once, when deciding
	if next := w.eng.NextDeadline(); !next.Equal(t0) {
		t.Fatalf("the changed alert asks for a tick at once, got %v", next.Sub(t0))
	}
	w.advance(59 * time.Second)
	if n := len(w.incidents(KindFault)); n != 0 {
		t.Fatalf("opened %d tickets while listening", n)
	}
	if next := w.eng.NextDeadline(); !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("the next deadline is the limit, got %v", next.Sub(t0))
	}
	w.advance(time.Second)
	if got := w.incidents(KindFault); len(got) != 1 || !got[0].OpenedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("want the head fault's ticket at the limit, got %+v", got)
	}
}

// A session that subscribes anew (a partition taken over, a hub restarted)
// gets every store's retained inventory again: the one already applied
// changes nothing, a newer one of the same boot does.
func TestRetainedInventoryDeliveredAgainChangesNothing(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"), scanner("scan-lane1", "lane 1"))
	made := w.clk.Now().Add(-time.Minute)
	inv := func(t time.Time, devices ...wire.DeviceInfo) *wire.Inventory {
		h := w.header(0)
		h.Type, h.Time = wire.TypeInventory, t
		return &wire.Inventory{Header: h, StoreInfo: wire.StoreInfo{Name: "Acme Berlin Mitte", TimeZone: "Europe/Berlin"}, Devices: devices}
	}
	if c := w.eng.Inventory(inv(made, printer("receipt-lane1", "lane 1")), w.clk.Now()); len(c.Devices) != 1 || len(c.Agents) != 1 {
		t.Fatalf("a new inventory changes its devices and agent: %d devices, %d agents", len(c.Devices), len(c.Agents))
	}
	w.advance(time.Minute)
	if c := w.eng.Inventory(inv(made, printer("receipt-lane1", "lane 1")), w.clk.Now()); len(c.Devices)+len(c.Agents)+len(c.Stores) != 0 {
		t.Errorf("the same inventory again changed %d devices, %d agents, %d stores", len(c.Devices), len(c.Agents), len(c.Stores))
	}
	if a, _ := w.eng.Agent(w.id); !a.Inventory.Equal(made) {
		t.Errorf("the agent's inventory time is %v, want %v", a.Inventory, made)
	}
	if c := w.eng.Inventory(inv(made.Add(time.Second), printer("receipt-lane1", "lane 2")), w.clk.Now()); len(c.Devices) != 1 {
		t.Errorf("a newer inventory of the same boot changed %d devices, want 1", len(c.Devices))
	}
	if d := w.device("receipt-lane1"); d.Location != "lane 2" {
		t.Errorf("the newer inventory's location is %q", d.Location)
	}
}
