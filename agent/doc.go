// Package agent is the store service: it turns a loaded configuration into
// drivers, a collector and a sink, runs them until told to stop, and answers
// the technician's questions on site (which devices, in what state). It is the
// only package that knows every other part of the agent.
package agent
