// Package reportgen writes a described history into a real ticket store:
// stores with time zones, devices installed (and swapped) at given times,
// fault episodes at given instants, agent outages and incidents with their
// SLA times, written as the incident engine writes them (device records,
// event-log entries, incident records). A report over that store must come
// out at figures one can work out by hand from the description.
//
// A seed adds what a report must ignore (warnings, state changes, incident
// transitions other than opening, another tenant, repeated device records)
// and shuffles the order and batching of the commits; Fleet describes a
// large random fleet for benchmarks, with totals known by construction.
package reportgen
