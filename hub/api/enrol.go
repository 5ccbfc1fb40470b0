package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/storewatch/storewatch/hub/enrol"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// Enroller is the hub's enrolment service (enrol.Service).
type Enroller interface {
	Enrol(req *wire.EnrolRequest, remote string) (*wire.EnrolResponse, error)
	CreateToken(req enrol.TokenRequest, by string) (enrol.CreatedToken, error)
	Tokens(tenant string) ([]store.EnrolToken, error)
	RevokeToken(id, by string) (store.EnrolToken, error)
	Agents() ([]store.AgentCredential, error)
	RevokeAgent(id wire.AgentID, by string) (store.AgentCredential, error)
}

// The enrolment routes live here, added to the table at start-up. The
// enrolment itself needs no API token: the enrolment token in its body is
// what it checks.
func init() {
	routes = append(routes,
		route{"POST", wire.EnrolPath, 0, nil, (*Server).enrolAgent},
		route{"GET", Prefix + "/enrolment/tokens", Admin, []string{"tenant"}, (*Server).enrolTokens},
		route{"POST", Prefix + "/enrolment/tokens", Admin, nil, (*Server).createEnrolToken},
		route{"DELETE", Prefix + "/enrolment/tokens/{id}", Admin, nil, (*Server).revokeEnrolToken},
		route{"POST", Prefix + "/agents/{tenant}/{store}/{agent}/revoke", Admin, nil, (*Server).revokeAgent},
	)
}

// enrolError answers a refused or failed enrolment call.
func enrolError(w http.ResponseWriter, err error) {
	var r *enrol.Refusal
	if errors.As(err, &r) {
		if r.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(r.RetryAfter.Seconds())))
		}
		writeJSON(w, r.Status, wire.EnrolRefusal{Error: r.Msg, Code: r.Code})
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

func (s *Server) noEnrolment(w http.ResponseWriter) bool {
	if s.enrol == nil {
		writeJSON(w, http.StatusServiceUnavailable, wire.EnrolRefusal{Error: "this hub does not take enrolments (no enrolment: section in hub.yaml)"})
		return true
	}
	return false
}

func (s *Server) enrolAgent(w http.ResponseWriter, r *http.Request, _ principal) {
	if s.noEnrolment(w) {
		return
	}
	b, ok := body(w, r)
	if !ok {
		return
	}
	req, err := wire.DecodeEnrolRequest(b)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, wire.EnrolRefusal{Error: err.Error(), Code: wire.EnrolInvalid})
		return
	}
	res, err := s.enrol.Enrol(req, r.RemoteAddr)
	if err != nil {
		enrolError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store") // it carries a password
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) enrolTokens(w http.ResponseWriter, r *http.Request, _ principal) {
	if err := known(r.URL.Query(), "tenant"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.noEnrolment(w) {
		return
	}
	out, err := s.enrol.Tokens(r.URL.Query().Get("tenant"))
	writeList(w, out, err)
}

func (s *Server) createEnrolToken(w http.ResponseWriter, r *http.Request, p principal) {
	if s.noEnrolment(w) {
		return
	}
	b, ok := body(w, r)
	if !ok {
		return
	}
	var req enrol.TokenRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	out, err := s.enrol.CreateToken(req, p.name)
	if err != nil {
		enrolError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) revokeEnrolToken(w http.ResponseWriter, r *http.Request, p principal) {
	if s.noEnrolment(w) {
		return
	}
	out, err := s.enrol.RevokeToken(r.PathValue("id"), p.name)
	if err != nil {
		enrolError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) revokeAgent(w http.ResponseWriter, r *http.Request, p principal) {
	if s.noEnrolment(w) {
		return
	}
	id := wire.AgentID{Tenant: r.PathValue("tenant"), Store: r.PathValue("store"), Agent: r.PathValue("agent")}
	if err := id.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := s.enrol.RevokeAgent(id, p.name)
	if err != nil {
		enrolError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
