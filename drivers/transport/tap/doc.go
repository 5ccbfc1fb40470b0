// Package tap sits between the POS application and a serial device, for
// lanes where only the serial line can tell the truth. The tap owns the
// physical port and offers the POS application a pseudo-terminal under a
// stable name (a symbolic link such as /dev/ttyPOS0); it passes every byte
// both ways unchanged and in order, and fits the agent's own status
// requests into the line's idle gaps, between the POS application's
// exchanges and never inside one. What the device says unsolicited to the
// POS (automatic status back, a scale's weight stream) is kept for drivers
// to read as health. See README.md.
package tap
