package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/storewatch/storewatch/hub/reports"
)

// reportParams are the query parameters of both report routes.
var reportParams = reports.Params

// reportFor parses the filter and computes the report, answering errors
// itself (400 for the filter, 500 for the store).
func (s *Server) reportFor(w http.ResponseWriter, r *http.Request) (*reports.Report, bool) {
	f, err := reports.ParseFilter(r.URL.Query(), s.clk.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	rep, err := reports.Compute(r.Context(), s.st, f)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, false
	}
	return rep, true
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, _ principal) {
	if rep, ok := s.reportFor(w, r); ok {
		writeJSON(w, http.StatusOK, rep)
	}
}

// reportCSV serves one table of the report as CSV: /reports/models.csv.
func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request, _ principal) {
	table, ok := strings.CutSuffix(r.PathValue("file"), ".csv")
	if !ok || !slices.Contains(reports.Tables, table) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no report table %q; the tables are %s.csv", r.PathValue("file"), strings.Join(reports.Tables, ".csv, ")))
		return
	}
	rep, ok := s.reportFor(w, r)
	if !ok {
		return
	}
	if err := reports.ServeCSV(w, rep, table); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}
