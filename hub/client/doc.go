// Package client is the hub's HTTP API seen from the command line: the
// requests storehub's client commands (incidents, devices, stores, query)
// make, and the tables they print. It knows the API's paths and JSON, not
// flags or exit codes; cmd/storehub does those.
package client
