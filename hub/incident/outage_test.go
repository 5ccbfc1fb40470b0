package incident

import (
	"fmt"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// chainStore adds another store of the chain with one agent online (its
// first connection), trading the usual hours in Berlin.
func (w *world) chainStore(n int) wire.AgentID {
	w.t.Helper()
	id := wire.AgentID{Tenant: "acme", Store: fmt.Sprintf("s%04d", 1000+n), Agent: "backoffice"}
	th, err := wire.ParseTradingHours(tradingHours)
	if err != nil {
		w.t.Fatal(err)
	}
	w.presence(id, wire.PresenceOnline, 1)
	c := w.eng.Inventory(&wire.Inventory{Header: wire.Header{V: wire.Version, AgentID: id, Boot: "boot-" + id.Store, Time: w.clk.Now()},
		StoreInfo: wire.StoreInfo{Name: "Acme " + id.Store, TimeZone: "Europe/Berlin", Hours: th}}, w.clk.Now())
	w.collect(c)
	return id
}

// presence is a birth (online) or will (offline) of an agent's conn-th
// connection, as a broker delivers it.
func (w *world) presence(id wire.AgentID, state string, conn uint64) Outcome {
	h := wire.Header{V: wire.Version, AgentID: id, Boot: "boot-" + id.Store, Time: w.clk.Now()}
	if id == w.id {
		h.Boot = w.boot
	}
	c, out := w.eng.Status(&wire.Status{Header: h, State: state, Conn: conn}, w.clk.Now())
	w.collect(c)
	return out
}

func (w *world) brokerLost() { w.collect(w.eng.BrokerLost(w.clk.Now())) }
func (w *world) brokerBack() { w.collect(w.eng.BrokerBack(w.clk.Now())) }

func (w *world) outageLog() []string {
	var out []string
	for _, l := range w.all.Log {
		if l.Kind == LogOutage {
			out = append(out, l.State)
		}
	}
	return out
}

// The hub's connection to its broker is down for ten minutes. Every store
// is cut off from the hub at once; that is one ticket, the hub's, not one
// per store. When the broker is back (it was restarted: it delivers every
// agent's will, published when it stopped), the hub listens for the settle
// time while the agents reconnect, then decides each store on what it
// heard: the one store whose agent did not come back gets its ticket.
func TestStoryHubLosesItsBrokerGivesOneTicketNotOnePerStore(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"))
	var stores []wire.AgentID
	for i := range 19 {
		stores = append(stores, w.chainStore(i))
	}
	w.report("receipt-lane1", wire.FaultPaperOut) // would open at 10:02
	w.advance(time.Minute)
	lost := w.clk.Now()
	w.brokerLost()
	w.advance(10 * time.Minute)

	hub := w.incidents(KindHubOutage)
	if len(hub) != 1 {
		t.Fatalf("while the hub cannot hear its broker: %d hub incidents, want 1", len(hub))
	}
	if inc := hub[0]; inc.State != StateOpen || !inc.OpenedAt.Equal(lost.Add(3*time.Minute)) || !inc.FirstSeen.Equal(lost) ||
		inc.Priority != 1 || inc.Tenant != "" || inc.Store != "" {
		t.Errorf("hub incident: %+v", inc)
	}
	if n := len(w.incidents(KindAgentOffline)) + len(w.incidents(KindFault)); n != 0 {
		t.Fatalf("store incidents opened while the hub could not hear: %d", n)
	}

	// 10:11: the broker is back and hands over the wills it published when
	// it stopped (every connection the agents had); within half a minute
	// all agents but one reconnect.
	w.brokerBack()
	everyone := append([]wire.AgentID{w.id}, stores...)
	for _, id := range everyone {
		if out := w.presence(id, wire.PresenceOffline, 1); out != Applied {
			t.Fatalf("will of %s: %v", id, out)
		}
	}
	w.report("receipt-lane1") // paper was loaded during the outage
	w.advance(30 * time.Second)
	heard := w.clk.Now()
	dead := everyone[len(everyone)-1] // its store lost power meanwhile
	for _, id := range everyone[:len(everyone)-1] {
		w.presence(id, wire.PresenceOnline, 2)
	}
	w.advance(2*time.Minute - time.Second)
	if got := w.final[hub[0].ID]; got.State != StateOpen || len(w.incidents(KindAgentOffline)) != 0 {
		t.Fatalf("before the settle time is over nothing is decided: hub incident %s, %d store incidents", got.State, len(w.incidents(KindAgentOffline)))
	}
	w.advance(time.Second)
	if got := w.final[hub[0].ID]; got.State != StateResolved || !got.RecoveredAt.Equal(heard) || !got.ClosedAt.Equal(heard.Add(2*time.Minute)) {
		t.Errorf("hub incident after the settle time: %s, recovered %v, closed %v", got.State, got.RecoveredAt, got.ClosedAt)
	}
	w.advance(10 * time.Minute)

	offline := w.incidents(KindAgentOffline)
	if len(offline) != 1 || offline[0].Store != dead.Store {
		t.Fatalf("want one store incident, for %s, got %+v", dead.Store, offline)
	}
	if want := lost.Add(10*time.Minute + 3*time.Minute); !offline[0].OpenedAt.Equal(want) {
		t.Errorf("the dead store's incident opened %v, want its will plus the hold-down %v", offline[0].OpenedAt, want)
	}
	if n := len(w.incidents(KindFault)); n != 0 {
		t.Errorf("the printer refilled during the outage opened %d tickets", n)
	}
	for _, n := range w.all.Notifications {
		if n.Incident.Kind == KindHubOutage {
			t.Errorf("the hub's own outage went to the helpdesks: %+v", n)
		}
	}
	// Heard when the broker is back, blind again as its batch of wills
	// comes in (a mass silence of its own), heard when the agents are back.
	if got, want := fmt.Sprint(w.outageLog()), "[blind opened heard blind heard settled]"; got != want {
		t.Errorf("outage in the event log: %s, want %s", got, want)
	}
}

// The hub hears its broker but every agent's connection dies within a
// minute and a half (the hub's own network, with the embedded broker): the
// wills arrive one by one. Half of them at once is the hub's outage, one
// ticket; the stores are decided once most agents are back and the hub
// has listened for the settle time.
func TestStoryAllAgentsSilentAtOnceGiveOneTicket(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"))
	everyone := []wire.AgentID{w.id}
	for i := range 19 {
		everyone = append(everyone, w.chainStore(i))
	}
	w.advance(time.Minute)
	first := w.clk.Now()
	for _, id := range everyone[:18] { // two stores are on another network
		w.presence(id, wire.PresenceOffline, 1)
		w.advance(5 * time.Second)
	}
	w.advance(10 * time.Minute)
	hub := w.incidents(KindHubOutage)
	if len(hub) != 1 || !hub[0].FirstSeen.Equal(first) || !hub[0].OpenedAt.Equal(first.Add(3*time.Minute)) {
		t.Fatalf("want one hub incident from the first will on: %+v", hub)
	}
	if n := len(w.incidents(KindAgentOffline)); n != 0 {
		t.Fatalf("%d store incidents while most agents were silent", n)
	}
	// The network is back: 17 of the 18 reconnect over half a minute. The
	// silence is over once fewer than half (or than 10) are still gone.
	var heard time.Time
	for i, id := range everyone[:17] {
		w.presence(id, wire.PresenceOnline, 2)
		if i == 8 { // 9 still offline of 20
			heard = w.clk.Now()
		}
		w.advance(2 * time.Second)
	}
	w.advance(3 * time.Minute)
	if got := w.final[hub[0].ID]; got.State != StateResolved || !got.RecoveredAt.Equal(heard) || !got.ClosedAt.Equal(heard.Add(2*time.Minute)) {
		t.Errorf("hub incident: %s, recovered %v (want %v), closed %v", got.State, got.RecoveredAt, heard, got.ClosedAt)
	}
	offline := w.incidents(KindAgentOffline)
	if len(offline) != 1 || offline[0].Store != everyone[17].Store || !offline[0].OpenedAt.Equal(heard.Add(2*time.Minute)) {
		t.Fatalf("want the one store that stayed silent, opened when the settle time ended (%v): %+v", heard.Add(2*time.Minute), offline)
	}
}

// A chain closes at 20:00 and its store PCs are switched off soon after:
// many agents go offline at once, but closed stores are no outage.
func TestStoryChainClosingTimeIsNoOutage(t *testing.T) {
	evening := time.Date(2026, 11, 24, 20, 4, 0, 0, berlin)
	w := newWorld(t, evening, tradingHours, printer("receipt-lane1", "lane 1"))
	everyone := []wire.AgentID{w.id}
	for i := range 19 {
		everyone = append(everyone, w.chainStore(i))
	}
	for _, id := range everyone {
		w.presence(id, wire.PresenceOffline, 1)
		w.advance(3 * time.Second)
	}
	w.advance(time.Hour)
	if len(w.final) != 0 || len(w.outageLog()) != 0 {
		t.Fatalf("closing time opened %d incidents, outage log %v", len(w.final), w.outageLog())
	}
}

// A person who closes the hub's incident closes it for this outage: it
// does not open again while the hub is still blind, and helpdesks hear of
// none of it.
func TestStoryHubIncidentClosedByAPersonStaysClosed(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours)
	w.brokerLost()
	w.advance(5 * time.Minute)
	hub := w.incidents(KindHubOutage)
	if len(hub) != 1 {
		t.Fatalf("%d hub incidents", len(hub))
	}
	c, err := w.eng.Close(hub[0].ID, "ops@example", "broker maintenance, we know")
	if err != nil {
		t.Fatal(err)
	}
	w.collect(c)
	w.advance(time.Hour)
	if n := len(w.incidents(KindHubOutage)); n != 1 || w.final[hub[0].ID].State != StateClosed {
		t.Errorf("after a person's close: %d hub incidents, state %s", n, w.final[hub[0].ID].State)
	}
	if len(w.all.Notifications) != 0 {
		t.Errorf("notifications for the hub's own outage: %+v", w.all.Notifications)
	}
}

// Mass silence is a share of the agents and a least number of them.
func TestMassSilenceNeedsAShareAndANumber(t *testing.T) {
	cases := []struct {
		online, gone int
		silence      bool
	}{
		{0, 9, false},    // fewer than 10
		{0, 10, true},    // every agent
		{10, 10, true},   // half
		{11, 10, false},  // less than half
		{100, 99, false}, // many, but less than half
		{100, 100, true},
		{0, 0, false},
	}
	for _, c := range cases {
		e := New(Config{Policy: DefaultPolicy()})
		e.online = c.online
		if got := e.silence(c.gone); got != c.silence {
			t.Errorf("%d gone, %d still online: silence %v, want %v", c.gone, c.online, got, c.silence)
		}
	}
}

// A hub restarted while its outage incident was open has just begun to
// hear its stores again: it settles before it decides about them, and the
// incident resolves then.
func TestStoryHubRestartedDuringItsOutageSettlesFirst(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"))
	w.will("boot-1") // the last thing the hub heard before it lost its broker
	w.advance(time.Minute)
	w.brokerLost()
	w.advance(5 * time.Minute)
	hub := w.incidents(KindHubOutage)
	if len(hub) != 1 {
		t.Fatalf("%d hub incidents", len(hub))
	}
	w.advance(10 * time.Minute) // the hub is down
	snap := Snapshot{Stores: w.eng.Stores(), Agents: w.eng.Agents(), Devices: w.eng.Devices(), Incidents: w.eng.LiveIncidents(), LastID: 1}
	w.eng = New(Config{Policy: DefaultPolicy(), Clock: w.clk})
	w.eng.Restore(snap)
	restarted := w.clk.Now()
	w.advance(2*time.Minute - time.Second)
	if got := w.final[hub[0].ID]; got.State != StateOpen || len(w.incidents(KindAgentOffline)) != 0 {
		t.Fatalf("within the settle time after the restart: hub incident %s, %d store incidents", got.State, len(w.incidents(KindAgentOffline)))
	}
	w.advance(time.Minute)
	if got := w.final[hub[0].ID]; got.State != StateResolved || !got.ClosedAt.Equal(restarted.Add(2*time.Minute)) {
		t.Errorf("hub incident after the settle time: %s closed %v", got.State, got.ClosedAt)
	}
	if got := w.incidents(KindAgentOffline); len(got) != 1 || !got[0].OpenedAt.Equal(restarted.Add(2*time.Minute)) {
		t.Errorf("the agent whose will came before the restart: %+v", got)
	}
}

// The engine of a partition other than the first of several
// (Config.NoOutageIncident) holds store decisions back while its session
// cannot hear the broker, as any engine does, but opens no hub-level
// incident: partition 0's engine does, and two would be two live incidents
// of one fingerprint.
func TestPartitionEngineHoldsBackWithoutItsOwnOutageIncident(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane1", "lane 1"))
	w.eng.outageSilent = true
	w.report("receipt-lane1", wire.FaultPaperOut) // would open at 10:02
	w.advance(time.Minute)
	w.brokerLost()
	w.advance(10 * time.Minute)
	if n := len(w.incidents(KindHubOutage)) + len(w.incidents(KindFault)) + len(w.incidents(KindAgentOffline)); n != 0 {
		t.Fatalf("while its session could not hear: %d incidents, want none", n)
	}
	w.brokerBack()
	w.advance(10 * time.Minute)
	if got := w.incidents(KindFault); len(got) != 1 || len(w.incidents(KindHubOutage)) != 0 {
		t.Fatalf("after the settle time: %d fault incidents (want the paper-out's), %d hub incidents (want none)", len(got), len(w.incidents(KindHubOutage)))
	}
	if got, want := fmt.Sprint(w.outageLog()), "[blind heard settled]"; got != want {
		t.Errorf("outage in the event log: %s, want %s", got, want)
	}
}
