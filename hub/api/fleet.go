package api

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// AgentView is an agent as the fleet view shows it: what it last told the
// hub (version, OS, configuration, outbox), its gap figures, how it was
// enrolled, and why it is behind, if it is.
type AgentView struct {
	incident.AgentRecord
	Gaps        uint64 `json:"gaps"`
	Outstanding uint64 `json:"gaps_outstanding"`
	// Enrolment is how the agent was enrolled (without its password
	// hash); nil for an agent hub.yaml lists.
	Enrolment *store.AgentCredential `json:"enrolment,omitempty"`
	// ConfigAssigned is the version of the device configuration the hub
	// sends the agent from its profiles; empty: it manages none.
	ConfigAssigned string `json:"config_assigned,omitempty"`
	// Behind says why the agent is behind: an older version than the
	// fleet's newest, a configuration that did not apply, an outbox
	// backlog growing heartbeat after heartbeat. Empty: it is not.
	Behind []string `json:"behind,omitempty"`
}

// FleetFilter selects agents; nil and zero fields match everything.
type FleetFilter struct {
	Tenant, Store  string
	Online, Behind *bool
}

// BacklogRisingBehind is how many heartbeats in a row with a growing
// outbox backlog make an agent behind.
const BacklogRisingBehind = 3

// Fleet lists the agents the engine knows and those enrolled but not yet
// heard from, ordered by tenant, store and agent.
func (s *Server) Fleet(f FleetFilter) ([]AgentView, error) {
	var creds []store.AgentCredential
	if s.enrol != nil {
		var err error
		if creds, err = s.enrol.Agents(); err != nil {
			return nil, err
		}
	}
	byKey := map[string]*store.AgentCredential{}
	for i := range creds {
		byKey[creds[i].Key()] = &creds[i]
	}
	var all []AgentView
	seen := map[string]bool{}
	for _, a := range s.dir.Agents() {
		v := AgentView{AgentRecord: a, Gaps: a.Seq.Gaps, Outstanding: a.Seq.Outstanding(), Enrolment: byKey[a.ID().String()]}
		seen[a.ID().String()] = true
		all = append(all, v)
	}
	for _, c := range creds {
		if !seen[c.Key()] {
			all = append(all, AgentView{AgentRecord: incident.AgentRecord{Tenant: c.Tenant, Store: c.Store, Agent: c.Agent, Version: c.Version, OS: c.OS},
				Enrolment: byKey[c.Key()]})
		}
	}
	newest := map[string]string{} // by tenant
	for _, v := range all {
		if CompareVersions(v.Version, newest[v.Tenant]) > 0 {
			newest[v.Tenant] = v.Version
		}
	}
	var assigned map[wire.AgentID]string
	if s.profiles != nil {
		ids := make([]wire.AgentID, len(all))
		for i, v := range all {
			ids[i] = v.ID()
		}
		assigned = s.profiles.Assigned(ids)
	}
	out := []AgentView{}
	for _, v := range all {
		v.ConfigAssigned = assigned[v.ID()]
		v.Behind = behind(v, newest[v.Tenant])
		switch {
		case f.Tenant != "" && v.Tenant != f.Tenant, f.Store != "" && v.Store != f.Store,
			f.Online != nil && v.Online != *f.Online, f.Behind != nil && (len(v.Behind) > 0) != *f.Behind:
			continue
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID().String() < out[j].ID().String() })
	return out, nil
}

// behind says why an agent is behind the fleet.
func behind(v AgentView, newest string) []string {
	var why []string
	if v.Version != "" && CompareVersions(v.Version, newest) < 0 {
		why = append(why, fmt.Sprintf("version %s, the fleet's newest is %s", v.Version, newest))
	}
	if hb := v.Heartbeat; hb != nil {
		if c := hb.Config; c != nil && c.Error != "" {
			failed := c.Failed
			if failed == "" {
				failed = "the last one"
			}
			why = append(why, fmt.Sprintf("configuration %s not applied (runs %s): %s", failed, c.Version, c.Error))
		}
		if c := hb.Config; c != nil && v.ConfigAssigned != "" && c.Version != v.ConfigAssigned && c.Failed != v.ConfigAssigned {
			why = append(why, fmt.Sprintf("configuration %s assigned, runs %s", v.ConfigAssigned, c.Version))
		}
		if v.BacklogRising >= BacklogRisingBehind {
			why = append(why, fmt.Sprintf("outbox backlog growing for %d heartbeats: %d messages, the oldest %s old", v.BacklogRising, hb.OutboxDepth,
				(time.Duration(hb.OldestAge)*time.Second).Round(time.Second)))
		}
	}
	return why
}

// CompareVersions compares two version strings number by number (1.10.0
// is newer than 1.9.3; a leading v is ignored). A version without digits
// (dev) or an empty one is older than any numbered one.
func CompareVersions(a, b string) int {
	na, nb := versionNumbers(a), versionNumbers(b)
	for i := 0; i < len(na) || i < len(nb); i++ {
		x, y := -1, -1
		if i < len(na) {
			x = na[i]
		}
		if i < len(nb) {
			y = nb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionNumbers(v string) []int {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+ "); i >= 0 {
		v = v[:i] // 1.4.0-rc1, 1.4.0+dirty: the release part
	}
	var out []int
	for _, part := range strings.Split(v, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}
