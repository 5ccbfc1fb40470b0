package reports

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Tables are the names of the tables a report exports as CSV.
var Tables = []string{"models", "vendors", "weekday_hour", "sla", "chronic", "self_resolved"}

// ErrUnknownTable is returned for a table name not in Tables.
var ErrUnknownTable = errors.New("unknown table")

// Weekdays names the rows of WeekdayHour.
var Weekdays = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// ServeCSV answers a download of one table of r: the CSV, with a file name
// that says the table and the period. The table is written whole before
// anything is sent, so a failure can still be answered with an error.
func ServeCSV(w http.ResponseWriter, r *Report, table string) error {
	var b bytes.Buffer
	if err := WriteCSV(&b, r, table); err != nil {
		return err
	}
	const day = "2006-01-02"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="storewatch-%s-%s-%s.csv"`,
		table, r.Filter.From.UTC().Format(day), r.Filter.To.UTC().Format(day)))
	_, _ = w.Write(b.Bytes())
	return nil
}

// WriteCSV writes one table of r, with a header line. Numbers use a dot and
// no grouping; a figure that does not exist (a rate without installed
// devices) is an empty cell.
func WriteCSV(w io.Writer, r *Report, table string) error {
	cw := csv.NewWriter(w)
	var rows [][]string
	switch table {
	case "models", "vendors":
		rows = append(rows, []string{"vendor", "model", "kind", "devices", "device_months", "failures",
			"failures_per_device_month", "installed_hours", "downtime_hours", "operating_hours", "mtbf_hours", "mttr_hours"})
		src := r.Models
		if table == "vendors" {
			src = r.Vendors
		}
		for _, m := range src {
			rows = append(rows, []string{text(m.Vendor), text(m.Model), text(m.Kind), strconv.Itoa(m.Devices), num(m.DeviceMonths),
				strconv.Itoa(m.Failures), opt(m.Rate), num(m.InstalledHours), num(m.DowntimeHours), num(m.OperatingHours),
				opt(m.MTBFHours), opt(m.MTTRHours)})
		}
	case "weekday_hour":
		head := []string{"weekday"}
		for h := range 24 {
			head = append(head, fmt.Sprintf("h%02d", h))
		}
		rows = append(rows, append(head, "total"))
		for d, hours := range r.WeekdayHour {
			row, total := []string{Weekdays[d]}, 0
			for _, n := range hours {
				row = append(row, strconv.Itoa(n))
				total += n
			}
			rows = append(rows, append(row, strconv.Itoa(total)))
		}
	case "sla":
		rows = append(rows, []string{"priority", "incidents", "response_met", "response_missed", "response_pending", "response_met_share",
			"resolution_met", "resolution_missed", "resolution_pending", "resolution_met_share"})
		for _, s := range r.SLA {
			rows = append(rows, []string{fmt.Sprintf("P%d", s.Priority), strconv.Itoa(s.Incidents),
				strconv.Itoa(s.Response.Met), strconv.Itoa(s.Response.Missed), strconv.Itoa(s.Response.Pending), opt(s.Response.Share),
				strconv.Itoa(s.Resolution.Met), strconv.Itoa(s.Resolution.Missed), strconv.Itoa(s.Resolution.Pending), opt(s.Resolution.Share)})
		}
	case "chronic":
		rows = append(rows, []string{"tenant", "store", "device", "kind", "vendor", "model", "chronic_incidents", "failures", "incidents", "downtime_hours"})
		for _, d := range r.Chronic {
			rows = append(rows, []string{text(d.Tenant), text(d.Store), text(d.Device), text(d.Kind), text(d.Vendor), text(d.Model),
				strconv.Itoa(d.Chronic), strconv.Itoa(d.Failures), strconv.Itoa(d.Incidents), num(d.DowntimeHours)})
		}
	case "self_resolved":
		rows = append(rows, []string{"fault", "incidents", "self_resolved", "closed_by_people", "open", "self_resolved_share"})
		share := func(name string, s ShareRow) []string {
			return []string{name, strconv.Itoa(s.Incidents), strconv.Itoa(s.SelfResolved), strconv.Itoa(s.ByPeople), strconv.Itoa(s.Open), opt(s.Share)}
		}
		rows = append(rows, share("(all)", r.SelfResolved.Overall))
		for _, s := range r.SelfResolved.ByFault {
			rows = append(rows, share(text(s.Fault), s))
		}
	default:
		return fmt.Errorf("reports: %q: %w (tables: %s)", table, ErrUnknownTable, strings.Join(Tables, ", "))
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("reports: %s.csv: %w", table, err)
	}
	return nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func opt(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

// text defuses a cell a spreadsheet would run as a formula: vendor and
// model names come from the devices themselves.
func text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
