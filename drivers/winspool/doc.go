// Package winspool is the driver for printers the POS application prints
// to through the Windows print spooler: the printer's status and its queue's
// stuck jobs, read with GetPrinter (level 2) and EnumJobs, never by opening
// the printer's port. The status words become printq's IPP keywords, so the
// fault mapping is the one the cups driver uses on Linux. The spooler calls
// are Windows-only (spooler_windows.go); everything else is portable and
// tested on recorded status words.
package winspool
