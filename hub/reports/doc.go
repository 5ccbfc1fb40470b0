// Package reports computes storehub's reports from the ticket store: failures
// per device-month by vendor and model, failures by weekday and hour in
// store-local time, MTBF and MTTR per model, SLA compliance by priority, the
// most chronic devices and the share of incidents that recovered by
// themselves. It writes each table as CSV and renders the charts as SVG on
// the server (no script, no chart library).
//
// Compute streams the event log of the period in time order (store.ScanLog)
// and the install history (store.ScanInstalls); it keeps per-model and
// per-device sums, never the log itself. The definitions of every figure are
// in docs/hub.md ("Reports") and read the same in the table tests.
//
// The console shows a report with Compute for the page's filter
// (ParseFilter reads it from a query) and Charts for the SVGs; the API serves
// the same Report as JSON and each table as CSV.
package reports
