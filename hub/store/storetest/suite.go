package storetest

import (
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// Opener opens the store under test. Every call of one Opener opens the
// same data: a second call after Close is the hub restarting.
type Opener func(t *testing.T) store.Backend

// New makes a fresh, empty store for one test and returns its Opener.
type New func(t *testing.T) Opener

// Run runs the whole suite against the backend New makes.
func Run(t *testing.T, newStore New) {
	for _, c := range []struct {
		name string
		test func(*testing.T, New)
	}{
		{"IncidentSurvivesARestartAndResolvesOnce", incidentSurvivesARestartAndResolvesOnce},
		{"FilterAndLog", filterAndLog},
		{"IncidentsAreListedNewestFirstByNumber", incidentsAreListedNewestFirstByNumber},
		{"TimelineOfAnUnknownIncident", timelineOfAnUnknownIncident},
		{"NotifiedWakesOnNewNotifications", notifiedWakesOnNewNotifications},
		{"NotificationStreamAndCursors", notificationStreamAndCursors},
		{"PruneLogKeepsTheRecentPart", pruneLogKeepsTheRecentPart},
		{"FaultCountsPerDeviceAndPerModel", faultCountsPerDeviceAndPerModel},
		{"TicketLinkChangesTheStoredIncident", ticketLinkChangesTheStoredIncident},
		{"SnapshotKeepsEpisodesStartingOnAWholeSecond", snapshotKeepsEpisodesStartingOnAWholeSecond},
		{"SnapshotHoldsWhatTheEngineRestartsFrom", snapshotHoldsWhatTheEngineRestartsFrom},
		{"InstallHistoryFollowsTheDevicesModel", installHistoryFollowsTheDevicesModel},
		{"ScanInstallsFiltersByTenantAndStoreAndOrdersByDevice", scanInstallsFiltersByTenantAndStoreAndOrdersByDevice},
		{"ScanLogStreamsTheRangeInOrderAcrossChunks", scanLogStreamsTheRangeInOrderAcrossChunks},
		{"ScanLogCallbackMayUseTheStoreAndStopTheScan", scanLogCallbackMayUseTheStoreAndStopTheScan},
		{"ScanLogSkipsOtherKinds", scanLogSkipsOtherKinds},
		{"StoresListsEveryStoreRecord", storesListsEveryStoreRecord},
		{"EveryFieldSurvivesTheStore", everyFieldSurvivesTheStore},
		{"AuditTrailIsAppendOnlyAndFiltered", auditTrailIsAppendOnlyAndFiltered},
		{"DeviceLogIsOneDevicesRecentHistory", deviceLogIsOneDevicesRecentHistory},
		{"EnrolmentCountsUsesWithTheCredentialsItIssues", enrolmentCountsUsesWithTheCredentialsItIssues},
		{"ProfilesArePutListedAndDeleted", profilesArePutListedAndDeleted},
		{"ReplacementWithANewSerialIsAnInstall", replacementWithANewSerialIsAnInstall},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, newStore) })
	}
}

// open opens a fresh store, closed when the test ends.
func open(t *testing.T, newStore New) store.Backend {
	t.Helper()
	return newStore(t)(t)
}

// T0 is the suite's starting time.
var T0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// Event is an agent's event for device dev of acme/s1/a1 with the given
// faults (none: ok).
func Event(seq uint64, at time.Time, dev string, codes ...wire.FaultCode) *wire.Event {
	ev := &wire.Event{Header: wire.Header{V: 1, Type: wire.TypeEvent, AgentID: wire.AgentID{Tenant: "acme", Store: "s1", Agent: "a1"},
		Boot: "b1", Seq: seq, Time: at}, Device: dev, Since: at}
	for _, c := range codes {
		ev.Faults = append(ev.Faults, wire.NewFault(c, ""))
	}
	ev.State = wire.StateOf(ev.Faults)
	return ev
}

// Run feeds an engine and commits everything it changes, as the hub does.
type Runner struct {
	T     testing.TB
	Clock *clock.Fake
	Eng   *incident.Engine
	St    store.Store
}

// NewRunner restores an engine from the store's snapshot.
func NewRunner(t testing.TB, st store.Store, clk *clock.Fake) *Runner {
	t.Helper()
	eng := incident.New(incident.Config{Policy: incident.DefaultPolicy(), Clock: clk})
	snap, err := st.Snapshot(7*24*time.Hour, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	eng.Restore(snap)
	return &Runner{T: t, Clock: clk, Eng: eng, St: st}
}

// Commit commits c, failing the test if the store refuses it.
func (r *Runner) Commit(c incident.Changes) {
	r.T.Helper()
	if err := r.St.Commit(c); err != nil {
		r.T.Fatal(err)
	}
}

// Event feeds an event of dev at the current time.
func (r *Runner) Event(seq uint64, dev string, codes ...wire.FaultCode) {
	r.T.Helper()
	c, _ := r.Eng.Event(Event(seq, r.Clock.Now(), dev, codes...), r.Clock.Now())
	r.Commit(c)
}

// Advance moves the clock and commits the engine's tick.
func (r *Runner) Advance(d time.Duration) {
	r.T.Helper()
	r.Clock.Advance(d)
	r.Commit(r.Eng.Tick())
}

func commit(t *testing.T, st store.Store, c incident.Changes) {
	t.Helper()
	if err := st.Commit(c); err != nil {
		t.Fatal(err)
	}
}

// Incident is a stored acme/s1 incident of kind fault about paper_out on
// device dev.
func Incident(id, dev string, state incident.State, opened time.Time) incident.Incident {
	return incident.Incident{ID: id, Key: incident.Fingerprint("acme", "s1", dev, wire.FaultPaperOut), Kind: incident.KindFault, Tenant: "acme",
		Store: "s1", Device: dev, Fault: wire.FaultPaperOut, State: state, OpenedAt: opened,
		Facts: incident.Facts{Severity: wire.SeverityError, Remedy: wire.RemedyStore}}
}
