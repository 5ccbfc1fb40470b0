// Package clock lets time-driven code (the collector's scheduler, the hub's
// incident engine) run on real time in production and on virtual time in
// tests, so tests never sleep and never depend on a machine's speed.
package clock
