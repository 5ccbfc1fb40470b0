package console

import (
	"net/http"

	"github.com/storewatch/storewatch/hub/api"
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
