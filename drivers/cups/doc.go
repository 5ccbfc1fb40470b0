// Package cups is the driver for printers driven through a print queue of
// the local CUPS (or any IPP printer): it asks Get-Printer-Attributes and
// Get-Jobs over IPP and maps the queue's state, printer-state-reasons,
// marker levels and stuck jobs to the fault vocabulary (drivers/internal/
// printq). It never touches the printer's port, so it lives beside a POS
// application that prints through the queue. The small IPP codec is here
// (ipp.go); see README.md.
package cups
