package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// Querier runs remote queries (hub/query).
type Querier interface {
	Query(ctx context.Context, r query.Request) query.Answer
}

// AuditLister lists the remote-query audit trail (the hub's store).
type AuditLister interface {
	Audit(f store.AuditFilter) ([]store.AuditEntry, error)
}

var (
	queryParams = []string{"tenant"}
	auditParams = []string{"tenant", "store", "device", "who", "id", "since", "limit"}
)

// StatusFor is the HTTP status of a query's outcome.
func StatusFor(a query.Answer) int {
	if a.OK {
		return http.StatusOK
	}
	switch a.Code {
	case query.CodeBadRequest, query.CodeAmbiguous:
		return http.StatusBadRequest
	case query.CodeUnknownStore, query.CodeUnknownDevice:
		return http.StatusNotFound
	case query.CodeBusy, "device_busy":
		return http.StatusConflict
	case query.CodeRateLimited:
		return http.StatusTooManyRequests
	case query.CodeOffline, query.CodeBroker, query.CodeCancelled, query.CodeUnavailable:
		return http.StatusServiceUnavailable
	case query.CodeNoAnswer, "timeout":
		return http.StatusGatewayTimeout
	case query.CodeAudit:
		return http.StatusInternalServerError
	case "denied", "disabled":
		return http.StatusForbidden
	case "unsupported":
		return http.StatusUnprocessableEntity
	}
	// The agent refused or failed the request (bad_signature, expired,
	// replay, wrong_agent, failed): the hub's gateway got a bad answer.
	return http.StatusBadGateway
}

// RunQuery checks and runs a query for p; the console uses it too. Raw
// bytes to a device need an admin, whatever the agent allows.
func (s *Server) RunQuery(ctx context.Context, who string, role Role, tenant, st, device string, body query.Body) query.Answer {
	if body.Op == wire.OpRaw && role < Admin {
		return query.Answer{Store: st, Device: device, Op: body.Op, Code: "denied", Error: "raw queries need an admin token"}
	}
	if s.q == nil {
		return query.Answer{Store: st, Device: device, Op: body.Op, Code: query.CodeBroker, Error: "remote queries are not set up on this hub"}
	}
	return s.q.Query(ctx, query.Request{Who: who, Tenant: tenant, Store: st, Device: device, Op: body.Op, Args: body.Args})
}

func (s *Server) query(w http.ResponseWriter, r *http.Request, p principal) {
	q := r.URL.Query()
	if err := known(q, queryParams...); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	tenant, err := segment(q, "tenant")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	path := url.Values{"store": {r.PathValue("store")}, "device": {r.PathValue("device")}}
	var st, device string
	if err := segments(path, map[string]*string{"store": &st, "device": &device}); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	b, ok := body(w, r)
	if !ok {
		return
	}
	req, err := query.ParseBody(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	a := s.RunQuery(r.Context(), p.name, p.role, tenant, st, device, req)
	writeJSON(w, StatusFor(a), a)
}

// ParseAuditFilter reads the query of GET /api/v1/audit.
func ParseAuditFilter(q url.Values, now time.Time) (store.AuditFilter, error) {
	var f store.AuditFilter
	if err := known(q, auditParams...); err != nil {
		return f, err
	}
	if err := segments(q, map[string]*string{"tenant": &f.Tenant, "store": &f.Store, "device": &f.Device}); err != nil {
		return f, err
	}
	f.Who, f.ID = q.Get("who"), q.Get("id")
	if len(f.Who) > 128 || len(f.ID) > 128 {
		return f, fmt.Errorf("who and id: at most 128 characters")
	}
	var err error
	if f.Since, err = ParseTime(q.Get("since"), now); err != nil {
		return f, fmt.Errorf("since: %v", err)
	}
	f.Limit, err = limit(q)
	return f, err
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, _ principal) {
	f, err := ParseAuditFilter(r.URL.Query(), s.clk.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.auditLog == nil {
		writeList[store.AuditEntry](w, nil, nil)
		return
	}
	out, err := s.auditLog.Audit(f)
	writeList(w, out, err)
}
