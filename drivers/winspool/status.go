package winspool

import (
	"fmt"
	"strings"
	"time"

	"github.com/storewatch/storewatch/drivers/internal/printq"
)

// Printer is what GetPrinter level 2 (PRINTER_INFO_2) says of a printer.
type Printer struct {
	Name       string
	Port       string // USB001, ESDPRT001, IP_10.0.3.40, COM3:
	Driver     string // EPSON TM-T88V Receipt
	Location   string
	Comment    string
	Status     uint32 // PRINTER_STATUS_* bits
	Attributes uint32 // PRINTER_ATTRIBUTE_* bits
	Jobs       int    // cJobs: jobs in the queue
	// JobsUnread says why the jobs could not be listed, if they could not
	// (Wine's EnumJobs is a stub); the printer's status still counts.
	JobsUnread string
}

// Job is what EnumJobs level 2 (JOB_INFO_2) says of a job.
type Job struct {
	ID         uint32
	Document   string
	Status     uint32 // JOB_STATUS_* bits
	StatusText string // pStatus: what the port or language monitor says, if anything
	Submitted  time.Time
}

// PRINTER_STATUS_* (winspool.h), with the word the reading's detail uses
// and the IPP printer-state-reasons keyword printq maps to a fault ("" for
// a status that is normal or too vague to be a fault).
var printerStatus = []struct {
	bit          uint32
	word, reason string
}{
	{0x00000001, "paused", "paused"},
	{0x00000002, "error", ""},
	{0x00000004, "pending deletion", ""},
	{0x00000008, "paper jam", "media-jam"},
	{0x00000010, "paper out", "media-empty"},
	{0x00000020, "manual feed", ""},
	{0x00000040, "paper problem", "media-needed"},
	{0x00000080, "offline", "offline"},
	{0x00000100, "I/O active", ""},
	{0x00000200, "busy", ""},
	{0x00000400, "printing", ""},
	{0x00000800, "output bin full", "output-area-full"},
	{0x00001000, "not available", "offline"},
	{0x00002000, "waiting", ""},
	{0x00004000, "processing", ""},
	{0x00008000, "initializing", ""},
	{0x00010000, "warming up", ""},
	{0x00020000, "toner low", "toner-low"},
	{0x00040000, "no toner", "toner-empty"},
	{0x00080000, "page punt", ""},
	{0x00100000, "user intervention", ""},
	{0x00200000, "out of memory", ""},
	{0x00400000, "door open", "door-open"},
	{0x00800000, "server unknown", "offline"},
	{0x01000000, "power save", ""},
	{0x02000000, "server offline", "offline"},
	{0x04000000, "driver update needed", ""},
}

// attributeWorkOffline is PRINTER_ATTRIBUTE_WORK_OFFLINE: "Use Printer
// Offline" ticked, so the queue holds every job.
const attributeWorkOffline = 0x00000400

// JOB_STATUS_* (winspool.h).
const (
	jobPaused           = 0x00000001
	jobError            = 0x00000002
	jobDeleting         = 0x00000004
	jobSpooling         = 0x00000008
	jobPrinting         = 0x00000010
	jobOffline          = 0x00000020
	jobPaperOut         = 0x00000040
	jobPrinted          = 0x00000080
	jobDeleted          = 0x00000100
	jobBlockedDevQ      = 0x00000200
	jobUserIntervention = 0x00000400
	jobComplete         = 0x00001000
	jobRetained         = 0x00002000
)

// words names the status bits set in status.
func words(status uint32) []string {
	var ws []string
	for _, s := range printerStatus {
		if status&s.bit != 0 {
			ws = append(ws, s.word)
		}
	}
	if unknown := status &^ knownStatus; unknown != 0 {
		ws = append(ws, fmt.Sprintf("status 0x%08x", unknown))
	}
	return ws
}

var knownStatus = func() uint32 {
	var all uint32
	for _, s := range printerStatus {
		all |= s.bit
	}
	return all
}()

// jobState is printq's name for a job's state; done jobs are "".
func jobState(status uint32) string {
	switch {
	case status&(jobPrinted|jobDeleted|jobDeleting|jobComplete|jobRetained) != 0:
		return ""
	case status&jobPaused != 0:
		return "held" // paused on purpose: never stuck
	case status&(jobError|jobOffline|jobPaperOut|jobBlockedDevQ|jobUserIntervention) != 0:
		return "stopped"
	case status&(jobPrinting|jobSpooling) != 0:
		return "processing"
	}
	return "pending"
}

// queueOf turns what the spooler says into printq's queue. Many port
// monitors (the USB one among them) report a printer's trouble only on
// the job they cannot print: a job offline or out of paper counts as the
// printer's, and a job's status text is the message when the printer has
// none.
func queueOf(p Printer, jobs []Job, now time.Time) printq.Queue {
	q := printq.Queue{Accepting: p.Status&0x00000004 == 0} // a printer pending deletion takes no jobs
	for _, s := range printerStatus {
		if p.Status&s.bit != 0 && s.reason != "" {
			q.Reasons = append(q.Reasons, s.reason)
		}
	}
	if p.Attributes&attributeWorkOffline != 0 {
		q.Stopped, q.Message = true, `set to "Use Printer Offline"`
	}
	for _, j := range jobs {
		state := jobState(j.Status)
		if state == "" {
			continue
		}
		if j.Status&jobOffline != 0 {
			q.Reasons = append(q.Reasons, "offline")
		}
		if j.Status&jobPaperOut != 0 {
			q.Reasons = append(q.Reasons, "media-empty")
		}
		if q.Message == "" && j.StatusText != "" {
			q.Message = j.StatusText
		}
		q.Jobs = append(q.Jobs, printq.Job{ID: int(j.ID), State: state, Age: max(0, now.Sub(j.Submitted))})
	}
	return q
}

// describe says in a line what the spooler said.
func describe(p Printer, q printq.Queue) string {
	state := "ready"
	if ws := words(p.Status); len(ws) > 0 {
		state = strings.Join(ws, ", ")
	}
	s := fmt.Sprintf("printer %q on %s: %s, %d unfinished jobs", p.Name, p.Port, state, len(q.Jobs))
	if q.Message != "" {
		s += ": " + q.Message
	}
	if p.JobsUnread != "" {
		s += "; jobs not read: " + p.JobsUnread
	}
	return s
}
