// Package host checks the store PC the agent runs on: free disk space,
// available memory, CPU load, uptime, and that the programs the store needs
// (the POS application, its database) are running. It raises disk_low,
// memory_low and process_down. System figures come from gopsutil v4 behind a
// small Source interface, so tests feed fixed figures.
package host
