package bench

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Tenant is the simulated chain's tenant.
const Tenant = "bench"

// StoreID and AgentName name simulated store i (0-based).
func StoreID(i int) string { return fmt.Sprintf("s%05d", i+1) }

// AgentName is every simulated store's one agent.
const AgentName = "pos-1"

// ChainDevice is one device of a simulated store.
type ChainDevice struct {
	ID, Kind, Driver, Location string
}

// ChainStore is the layout of every simulated store: 30 devices, six lanes
// with a receipt printer, a scanner, a payment terminal and a POS PC each,
// plus label printers, scales and the back office.
func ChainStore() []ChainDevice {
	var ds []ChainDevice
	for lane := 1; lane <= 6; lane++ {
		loc := fmt.Sprintf("lane %d", lane)
		ds = append(ds,
			ChainDevice{fmt.Sprintf("receipt-%d", lane), "receipt_printer", "escpos", loc},
			ChainDevice{fmt.Sprintf("scanner-%d", lane), "scanner", "ssi", loc},
			ChainDevice{fmt.Sprintf("pinpad-%d", lane), "payment_terminal", "zvt", loc},
			ChainDevice{fmt.Sprintf("pos-%d", lane), "pos_pc", "netprobe", loc})
	}
	ds = append(ds,
		ChainDevice{"label-1", "label_printer", "zpl", "deli"},
		ChainDevice{"label-2", "label_printer", "zpl", "bakery"},
		ChainDevice{"scale-1", "scale", "sics", "deli"},
		ChainDevice{"scale-2", "scale", "nci", "produce"},
		ChainDevice{"scale-3", "scale", "toledo", "bakery"},
		ChainDevice{"backoffice", "pos_pc", "netprobe", "office"})
	return ds
}

// ChainPolicy is the hub policy of a chain run: the same values go into the
// hub's configuration and into the ground truth.
type ChainPolicy struct {
	HoldDown        time.Duration // paper_out, unreachable, no_response
	HoldUp          time.Duration
	OfflineHoldDown time.Duration // agent_offline
	OfflineHoldUp   time.Duration
	FlapThreshold   int // state changes within the flap window (30m) that make a fault flapping
}

// HubRules is the policy section of hub.yaml for p.
func (p ChainPolicy) HubRules() string {
	rule := func(code string, down, up time.Duration) string {
		return fmt.Sprintf("    %s: {hold_down: %s, hold_up: %s}\n", code, down, up)
	}
	return "policy:\n" +
		fmt.Sprintf("  flapping: {threshold: %d}\n", p.FlapThreshold) +
		"  rules:\n" +
		rule(string(wire.FaultPaperOut), p.HoldDown, p.HoldUp) +
		rule(string(wire.FaultUnreachable), p.HoldDown, p.HoldUp) +
		rule(string(wire.FaultNoResponse), p.HoldDown, p.HoldUp) +
		rule(string(wire.FaultAgentOffline), p.OfflineHoldDown, p.OfflineHoldUp)
}

// EpisodeKind is one kind of injected trouble.
type EpisodeKind string

// The fault mix.
const (
	EpPaperOut    EpisodeKind = "paper_out"    // a receipt printer out of paper, long enough for a ticket
	EpPaperBlip   EpisodeKind = "paper_blip"   // paper out, refilled within the hold-down
	EpOffline     EpisodeKind = "offline"      // a scale unreachable, long enough for a ticket
	EpOfflineBlip EpisodeKind = "offline_blip" // a scale unreachable briefly
	EpFlap        EpisodeKind = "flapping"     // a scanner going no_response and back, again and again
	EpWANCut      EpisodeKind = "wan_cut"      // the store's WAN link down, long enough for a ticket
	EpWANBlip     EpisodeKind = "wan_blip"     // the WAN link down briefly
)

// episodeShare is the share of stores that get each kind of episode (each
// store gets at most one, so the ground truth stays unambiguous).
var episodeShare = []struct {
	kind  EpisodeKind
	share float64
}{
	{EpPaperOut, 0.03}, {EpPaperBlip, 0.05}, {EpOffline, 0.01}, {EpOfflineBlip, 0.03},
	{EpFlap, 0.01}, {EpWANCut, 0.01}, {EpWANBlip, 0.01},
}

// Episode is one injected trouble.
type Episode struct {
	Kind    EpisodeKind
	Store   int
	Device  string         // "" for the WAN link
	Fault   wire.FaultCode // the fault the device reports ("" for the WAN link)
	At      time.Duration  // start, from the beginning of the fault phase
	For     time.Duration  // how long it lasts (flapping: the whole sequence)
	Changes int            // flapping: state changes (fault on, fault off, ...)
}

// EpisodeTiming says how long episodes last.
type EpisodeTiming struct {
	Long, Short time.Duration // a real fault or cut; a transient
	FlapStep    time.Duration // time between two state changes of a flapping device
	FlapChanges int
	Spread      time.Duration // episodes start at random times within this
}

// PlanEpisodes picks the stores and times of the fault mix for a chain of
// n stores, the same for the same seed.
func PlanEpisodes(n int, seed uint64, t EpisodeTiming) []Episode {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	stores := r.Perm(n)
	var eps []Episode
	next := 0
	for _, s := range episodeShare {
		count := max(1, int(float64(n)*s.share+0.5))
		for range count {
			if next >= len(stores) {
				break
			}
			e := Episode{Kind: s.kind, Store: stores[next], At: time.Duration(r.Int64N(int64(t.Spread) + 1))}
			next++
			lane := 1 + r.IntN(6)
			switch s.kind {
			case EpPaperOut, EpPaperBlip:
				e.Device, e.Fault = fmt.Sprintf("receipt-%d", lane), wire.FaultPaperOut
			case EpOffline, EpOfflineBlip:
				e.Device, e.Fault = fmt.Sprintf("scale-%d", 1+r.IntN(3)), wire.FaultUnreachable
			case EpFlap:
				e.Device, e.Fault, e.Changes = fmt.Sprintf("scanner-%d", lane), wire.FaultNoResponse, t.FlapChanges
			}
			switch s.kind {
			case EpPaperOut, EpOffline, EpWANCut:
				e.For = t.Long
			case EpPaperBlip, EpOfflineBlip, EpWANBlip:
				e.For = t.Short
			case EpFlap:
				e.For = time.Duration(t.FlapChanges-1) * t.FlapStep
			}
			eps = append(eps, e)
		}
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].At < eps[j].At })
	return eps
}

// Expectation is one ticket the ground truth calls for.
type Expectation struct {
	Store    int
	Device   string         // "" for a store incident
	Fault    wire.FaultCode // agent_offline for a store incident
	Flapping bool
	Episode  Episode
}

// Key identifies the ticket: store/device/fault.
func (e Expectation) Key() string { return TicketKey(StoreID(e.Store), e.Device, e.Fault) }

// TicketKey is how tickets and expectations are matched.
func TicketKey(store, device string, fault wire.FaultCode) string {
	if fault == wire.FaultAgentOffline {
		device = ""
	}
	return store + "/" + device + "/" + string(fault)
}

// Expect applies the policy to the injected episodes: a fault or outage
// that lasts its hold-down is one ticket, a flapping device is one ticket
// (flapping opens at once), anything shorter is none. Because the hub sees
// a fault a little later than it began and an outage a little longer than
// the cut (the agent reconnects with backoff), durations near a threshold
// are ambiguous: Expect refuses an episode within margin of its hold-down.
func Expect(p ChainPolicy, eps []Episode, margin time.Duration) ([]Expectation, error) {
	var out []Expectation
	for _, e := range eps {
		hold := p.HoldDown
		fault := e.Fault
		if e.Kind == EpWANCut || e.Kind == EpWANBlip {
			hold, fault = p.OfflineHoldDown, wire.FaultAgentOffline
		}
		if e.Kind == EpFlap {
			if e.Changes >= p.FlapThreshold {
				out = append(out, Expectation{Store: e.Store, Device: e.Device, Fault: fault, Flapping: true, Episode: e})
			}
			continue
		}
		if d := e.For - hold; d > -margin && d < margin {
			return nil, fmt.Errorf("bench: a %s of %v is within %v of its hold-down %v: the ground truth would depend on timing", e.Kind, e.For, margin, hold)
		}
		if e.For >= hold {
			out = append(out, Expectation{Store: e.Store, Device: e.Device, Fault: fault, Episode: e})
		}
	}
	return out, nil
}

// Verdict compares the tickets the hub opened with the ground truth.
type Verdict struct {
	Expected, Opened            int
	Matched                     int
	Missing, Duplicate, Unknown []string // ticket keys
}

// Correct reports whether every expected ticket opened exactly once and
// nothing else opened.
func (v Verdict) Correct() bool {
	return v.Matched == v.Expected && len(v.Missing) == 0 && len(v.Duplicate) == 0 && len(v.Unknown) == 0
}

// Score is the share of tickets that were right: matched over expected
// plus every wrong one (duplicates and unexpected tickets count against it).
func (v Verdict) Score() float64 {
	d := v.Expected + len(v.Duplicate) + len(v.Unknown)
	if d == 0 {
		return 1
	}
	return float64(v.Matched) / float64(d)
}

// Judge matches opened tickets (their keys, one per ticket) against the
// expectations.
func Judge(want []Expectation, opened []string) Verdict {
	v := Verdict{Expected: len(want), Opened: len(opened)}
	count := map[string]int{}
	for _, k := range opened {
		count[k]++
	}
	expected := map[string]bool{}
	for _, e := range want {
		k := e.Key()
		expected[k] = true
		switch n := count[k]; {
		case n == 0:
			v.Missing = append(v.Missing, k)
		case n == 1:
			v.Matched++
		default:
			v.Matched++
			v.Duplicate = append(v.Duplicate, k)
		}
	}
	for k := range count {
		if !expected[k] {
			v.Unknown = append(v.Unknown, k)
		}
	}
	sort.Strings(v.Missing)
	sort.Strings(v.Duplicate)
	sort.Strings(v.Unknown)
	return v
}
