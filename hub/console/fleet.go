package console

import (
	"net/http"
	"net/url"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/profiles"
	"github.com/storewatch/storewatch/wire"
)

// fleetData is the Agents page: the fleet, or only the agents behind.
type fleetData struct {
	Agents []api.AgentView
	Behind bool // only the agents behind are listed
	All    int  // agents in the fleet
	Late   int  // of which behind
}

// agents lists the fleet (?behind=1: the agents behind only).
func (c *Console) agents(w http.ResponseWriter, r *http.Request, s *session) {
	all, err := c.o.API.Fleet(api.FleetFilter{})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	d := fleetData{Behind: r.URL.Query().Get("behind") != "", All: len(all)}
	for _, a := range all {
		if len(a.Behind) > 0 {
			d.Late++
		}
		if !d.Behind || len(a.Behind) > 0 {
			d.Agents = append(d.Agents, a)
		}
	}
	c.render(w, r, s, http.StatusOK, "agents", "Agents", "agents", d)
}

// addFound adds a device the agent found and nothing monitors to the
// store's own profile: the hub sends the agent its new configuration.
func (c *Console) addFound(w http.ResponseWriter, r *http.Request, s *session) {
	tenant, st := r.PathValue("tenant"), r.PathValue("store")
	f := r.PostForm
	id := wire.AgentID{Tenant: tenant, Store: st, Agent: f.Get("agent")}
	d := profiles.NewDevice{ID: f.Get("id"), Kind: f.Get("kind"), Driver: f.Get("driver"), Address: f.Get("address"), Location: f.Get("location")}
	if err := c.o.API.AddDevice(id, d, s.Name); err != nil {
		c.errorPage(w, r, s, http.StatusBadRequest, "The device was not added: "+err.Error())
		return
	}
	c.flash(s, "Device "+d.ID+" added to the store's profile "+profiles.StoreProfile(st)+"; the agent gets its new configuration now.")
	http.Redirect(w, r, Prefix+"stores/"+url.PathEscape(tenant)+"/"+url.PathEscape(st), http.StatusSeeOther)
}
