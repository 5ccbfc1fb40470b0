// Package printq turns the state of an operating system's print queue into
// the fault vocabulary: the queue stopped or refusing jobs, jobs waiting too
// long, and the printer's own conditions given as IPP printer-state-reasons
// keywords (media-empty, cover-open, toner-low, offline-report, ...) and
// marker (supply) levels. The cups driver fills a Queue from IPP; a Windows
// spooler driver maps its PRINTER_STATUS_* bits to the same keywords and
// reuses the table.
package printq
