package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/reports"
)

// reportsData is what the Reports page shows.
type reportsData struct {
	Error  string
	Query  url.Values // the filter as given, for the form and the CSV links
	From   string     // the period as dates, for the form
	To     string
	Stores []incident.StoreRecord
	Report *reports.Report
	Charts []reports.Chart
	Tables []string
}

// CSV returns the link to one table of the report as CSV.
func (d reportsData) CSV(table string) string {
	return Prefix + "reports/" + table + ".csv?" + d.Query.Encode()
}

// reports shows the report page: the filter, the four charts and the main
// tables, with CSV downloads of each table.
func (c *Console) reports(w http.ResponseWriter, r *http.Request, s *session) {
	d := reportsData{Query: r.URL.Query(), Stores: c.o.Engine.Stores(), Tables: reports.Tables}
	status := http.StatusOK
	rep, err := c.report(r)
	if err != nil {
		d.Error, status = err.Error(), http.StatusBadRequest
	} else {
		d.Report, d.Charts = rep, reports.Charts(rep)
		const day = "2006-01-02"
		d.From, d.To = rep.Filter.From.UTC().Format(day), rep.Filter.To.UTC().Format(day)
	}
	c.render(w, r, s, status, "reports", "Reports", "reports", d)
}

// reportCSV downloads one table, as the API's CSV route does, for people
// logged in to the console.
func (c *Console) reportCSV(w http.ResponseWriter, r *http.Request, s *session) {
	table, ok := strings.CutSuffix(r.PathValue("file"), ".csv")
	if !ok || !slices.Contains(reports.Tables, table) {
		c.errorPage(w, r, s, http.StatusNotFound, fmt.Sprintf("There is no report table %q.", r.PathValue("file")))
		return
	}
	rep, err := c.report(r)
	if err != nil {
		c.errorPage(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	if err := reports.ServeCSV(w, rep, table); err != nil {
		c.failed(w, r, s, err)
	}
}

func (c *Console) report(r *http.Request) (*reports.Report, error) {
	if c.o.Reports == nil {
		return nil, fmt.Errorf("reports are not available on this hub")
	}
	f, err := reports.ParseFilter(r.URL.Query(), c.clk.Now())
	if err != nil {
		return nil, err
	}
	return reports.Compute(r.Context(), c.o.Reports, f)
}

// pct writes a share as a percentage, or a dash when there is none.
func pct(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", *v*100)
}

// num writes an optional figure with the given decimals, or a dash.
func num(v *float64, decimals int) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.*f", decimals, *v)
}

// hours writes an optional length of time given in hours as people say it
// (minutes under an hour), or a dash.
func hours(v *float64) string {
	if v == nil {
		return "–"
	}
	return reports.Hours(*v)
}

// rate writes failures per device-month, or says that too little installed
// time makes it meaningless yet, or a dash.
func rate(v *float64, tooLittle bool) string {
	if tooLittle {
		return fmt.Sprintf("not yet meaningful (under %g device-months)", reports.MinDeviceMonths)
	}
	return num(v, 2)
}
