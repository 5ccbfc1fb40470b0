package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/storewatch/storewatch/hub/helpdesk"
)

// DeadLetters is the helpdesk outbox's list of calls it gave up on
// (helpdesk.Outbox).
type DeadLetters interface {
	DeadLetters() ([]helpdesk.DeadLetter, error)
	Retry(seq uint64) error
	Discard(seq uint64) error
}

// The helpdesk routes live here, added to the table at start-up, so the
// table in api.go stays as it is.
func init() {
	routes = append(routes,
		route{"GET", Prefix + "/helpdesk/dead-letters", Viewer, nil, (*Server).deadLetters},
		route{"POST", Prefix + "/helpdesk/dead-letters/{seq}/retry", Admin, nil, (*Server).retryDeadLetter},
		route{"DELETE", Prefix + "/helpdesk/dead-letters/{seq}", Admin, nil, (*Server).discardDeadLetter},
	)
}

func (s *Server) deadLetters(w http.ResponseWriter, _ *http.Request, _ principal) {
	if s.desk == nil {
		writeJSON(w, http.StatusOK, []helpdesk.DeadLetter{})
		return
	}
	out, err := s.desk.DeadLetters()
	writeList(w, out, err)
}

func (s *Server) retryDeadLetter(w http.ResponseWriter, r *http.Request, p principal) {
	s.onDeadLetter(w, r, p, "retried", func(seq uint64) error { return s.desk.Retry(seq) })
}

func (s *Server) discardDeadLetter(w http.ResponseWriter, r *http.Request, p principal) {
	s.onDeadLetter(w, r, p, "discarded", func(seq uint64) error { return s.desk.Discard(seq) })
}

// onDeadLetter runs fn on the dead letter named in the path and answers
// 204, 400, 404 or 500.
func (s *Server) onDeadLetter(w http.ResponseWriter, r *http.Request, p principal, did string, fn func(uint64) error) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "seq: want the dead letter's sequence number")
		return
	}
	if s.desk == nil {
		writeError(w, http.StatusNotFound, "no helpdesk is configured")
		return
	}
	switch err := fn(seq); {
	case errors.Is(err, helpdesk.ErrNoDeadLetter):
		writeError(w, http.StatusNotFound, "no dead letter "+r.PathValue("seq"))
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		s.log.Info("helpdesk dead letter "+did, "seq", seq, "by", p.name)
		w.WriteHeader(http.StatusNoContent)
	}
}
