// Package api is storehub's HTTP API: JSON under /api/v1/, bearer tokens with
// the roles viewer (read), engineer (acknowledge, comment, close, maintenance
// windows) and admin (also the notification stream and rejected messages),
// the OpenAPI document at /api/openapi.json (a test keeps it true to the
// routes), Prometheus metrics at /metrics, and /console/ reserved for the web
// console of a later issue.
package api
