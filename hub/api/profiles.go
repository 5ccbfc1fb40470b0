package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/storewatch/storewatch/hub/profiles"
	"github.com/storewatch/storewatch/wire"
)

// Profiler keeps device profiles (profiles.Service).
type Profiler interface {
	List(tenant string) ([]profiles.Entry, error)
	Put(p *profiles.Profile, by string) (profiles.Entry, error)
	SetValues(tenant, name, store string, values map[string]string, by string) (profiles.Entry, error)
	Delete(tenant, name, by string) error
	ConfigFor(id wire.AgentID) (*wire.DeviceConfig, bool, error)
	Assigned(ids []wire.AgentID) map[wire.AgentID]string
	AddDevice(id wire.AgentID, d profiles.NewDevice, by string) (profiles.Entry, error)
}

// AddDevice adds a device to the agent's store's own profile (the
// console's "add to monitoring" of a found device).
func (s *Server) AddDevice(id wire.AgentID, d profiles.NewDevice, by string) error {
	if s.profiles == nil {
		return errors.New("device profiles are not set up on this hub")
	}
	if err := id.Validate(); err != nil {
		return err
	}
	_, err := s.profiles.AddDevice(id, d, by)
	return err
}

// The device profile routes, added to the table at start-up.
func init() {
	routes = append(routes,
		route{"GET", Prefix + "/profiles", Viewer, []string{"tenant"}, (*Server).profileList},
		route{"PUT", Prefix + "/profiles", Engineer, nil, (*Server).profilePut},
		route{"DELETE", Prefix + "/profiles/{tenant}/{name}", Engineer, nil, (*Server).profileDelete},
		route{"PUT", Prefix + "/profiles/{tenant}/{name}/values/{store}", Engineer, nil, (*Server).profileValues},
		route{"GET", Prefix + "/agents/{tenant}/{store}/{agent}/config", Viewer, nil, (*Server).agentConfig},
	)
}

func (s *Server) noProfiles(w http.ResponseWriter) bool {
	if s.profiles == nil {
		writeError(w, http.StatusServiceUnavailable, "device profiles are not set up on this hub")
		return true
	}
	return false
}

func profileError(w http.ResponseWriter, err error) {
	if errors.Is(err, profiles.ErrNotFound) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

func (s *Server) profileList(w http.ResponseWriter, r *http.Request, _ principal) {
	if err := known(r.URL.Query(), "tenant"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.noProfiles(w) {
		return
	}
	out, err := s.profiles.List(r.URL.Query().Get("tenant"))
	writeList(w, out, err)
}

// profilePut takes a profile as YAML (as storehub profiles put sends it).
func (s *Server) profilePut(w http.ResponseWriter, r *http.Request, p principal) {
	if s.noProfiles(w) {
		return
	}
	b, ok := body(w, r)
	if !ok {
		return
	}
	prof, err := profiles.Parse(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := s.profiles.Put(prof, p.name)
	if err != nil {
		profileError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) profileDelete(w http.ResponseWriter, r *http.Request, p principal) {
	if s.noProfiles(w) {
		return
	}
	if err := s.profiles.Delete(r.PathValue("tenant"), r.PathValue("name"), p.name); err != nil {
		profileError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// profileValues sets one store's values: a JSON object of strings.
func (s *Server) profileValues(w http.ResponseWriter, r *http.Request, p principal) {
	if s.noProfiles(w) {
		return
	}
	b, ok := body(w, r)
	if !ok {
		return
	}
	var values map[string]string
	if err := json.Unmarshal(b, &values); err != nil {
		writeError(w, http.StatusBadRequest, "body: want an object of values, such as {\"lane\": \"3\"}")
		return
	}
	if err := wire.ValidateSegment(r.PathValue("store")); err != nil {
		writeError(w, http.StatusBadRequest, "store: "+err.Error())
		return
	}
	out, err := s.profiles.SetValues(r.PathValue("tenant"), r.PathValue("name"), r.PathValue("store"), values, p.name)
	if err != nil {
		profileError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// AgentConfig is what the hub assigns one agent.
type AgentConfig struct {
	Managed  bool     `json:"managed"` // some profile applies
	Version  string   `json:"version,omitempty"`
	Profiles []string `json:"profiles,omitempty"`
	Devices  string   `json:"devices,omitempty"` // YAML
	// Discovery is the discovery: settings a profile gives the agent
	// (YAML): the store networks it may scan.
	Discovery string `json:"discovery,omitempty"`
}

func (s *Server) agentConfig(w http.ResponseWriter, r *http.Request, _ principal) {
	if s.noProfiles(w) {
		return
	}
	id := wire.AgentID{Tenant: r.PathValue("tenant"), Store: r.PathValue("store"), Agent: r.PathValue("agent")}
	if err := id.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	dc, ok, err := s.profiles.ConfigFor(id)
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	out := AgentConfig{Managed: ok}
	if ok {
		out.Version, out.Profiles, out.Devices, out.Discovery = dc.Version, dc.Profiles, dc.Devices, dc.Discovery
	}
	writeJSON(w, http.StatusOK, out)
}
