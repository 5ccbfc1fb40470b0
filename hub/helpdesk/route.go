package helpdesk

import (
	"slices"
	"strconv"
	"time"

	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/wire"
)

// Destination is where a routed ticket goes. Helpdesk is None when the
// ticket stays in the hub's built-in list only.
type Destination struct {
	Rule          string `json:"rule"` // the matching rule's name or position; "default"
	Helpdesk      string `json:"helpdesk"`
	Project       string `json:"project,omitempty"`
	AssigneeGroup string `json:"assignee_group,omitempty"`
	Language      string `json:"language,omitempty"`
	Team          string `json:"team,omitempty"` // the follow-the-sun team that took it
}

// Router applies routing rules. It is read-only after NewRouter and safe
// for concurrent use.
type Router struct {
	r     Routing
	teams map[string]team
}

type team struct {
	Team
	hours wire.TradingHours
	loc   *time.Location
}

// NewRouter prepares validated routing rules (Config.Validate checks them).
func NewRouter(r Routing) *Router {
	rt := &Router{r: r, teams: map[string]team{}}
	if rt.r.Default.Helpdesk == "" {
		rt.r.Default.Helpdesk = None
	}
	for _, t := range r.Teams {
		h, _ := wire.ParseTradingHours(t.Hours)
		loc, err := time.LoadLocation(t.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		rt.teams[t.Name] = team{Team: t, hours: h, loc: loc}
	}
	return rt
}

// Route chooses the destination of an incident's ticket opened at now: the
// first matching rule, else the default.
func (rt *Router) Route(in tickets.Brief, now time.Time) Destination {
	for i, r := range rt.r.Rules {
		if r.matches(in) {
			name := r.Name
			if name == "" {
				name = "rules[" + strconv.Itoa(i) + "]"
			}
			return rt.resolve(name, r.Target, now)
		}
	}
	return rt.resolve("default", rt.r.Default, now)
}

func (rt *Router) resolve(name string, t Target, now time.Time) Destination {
	d := Destination{Rule: name, Helpdesk: t.Helpdesk, Project: t.Project, AssigneeGroup: t.AssigneeGroup, Language: t.Language}
	for _, tn := range t.FollowTheSun {
		tm, ok := rt.teams[tn]
		if !ok || !tm.hours.IsOpen(now, tm.loc) {
			continue
		}
		d.Team = tn
		if tm.Helpdesk != "" {
			d.Helpdesk = tm.Helpdesk
		}
		if tm.Project != "" {
			d.Project = tm.Project
		}
		if tm.AssigneeGroup != "" {
			d.AssigneeGroup = tm.AssigneeGroup
		}
		if tm.Language != "" {
			d.Language = tm.Language
		}
		break
	}
	if d.Helpdesk == "" {
		d.Helpdesk = None
	}
	return d
}

func (r Rule) matches(in tickets.Brief) bool {
	kind := in.Kind
	if in.StoreLevel() {
		kind = "store"
	}
	return anyOf(r.Tenants, in.Tenant) &&
		(len(r.Stores) == 0 || slices.Contains(r.Stores, in.Store) || slices.Contains(r.Stores, in.Tenant+"/"+in.Store)) &&
		anyOf(r.Countries, in.Country) &&
		anyOf(r.Regions, in.Region) &&
		(len(r.TimeZones) == 0 || slices.ContainsFunc(r.TimeZones, func(p string) bool { return matchZone(p, in.TimeZone) })) &&
		anyOf(r.Kinds, kind) &&
		anyOf(r.Faults, string(in.Fault)) &&
		anyOf(r.Remedies, string(in.RemedyClass()))
}

// anyOf is true for an empty list (no condition) or one containing v.
func anyOf(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
