//go:build unix

package wine

import (
	"regexp"
	"strconv"
	"strings"
)

// Event is one report to the Windows event log.
type Event struct {
	Source  string // the event source the process registered (RegisterEventSource)
	Type    string // error, warning or information
	ID      uint32 // the event id
	Message string
}

// EventLog returns what the prefix's services reported to the event log so
// far. Wine 8.0 keeps no event log to read back: its ReportEventW only
// prints each report to its debug channels, which the session's log holds
// (see sessionDebug). Only services started by the service manager write
// there; a program started with Run or Start does not.
func (p *Prefix) EventLog() []Event { return ParseEventLog(p.SessionLog()) }

// ParseEventLog reads Wine's debug output with +pid, fixme+advapi and
// +eventlog: per process, RegisterEventSourceW names the source; each
// ReportEventW announces an event (its type and id) and then prints the
// message a line at a time.
//
//	0120:0124:fixme:advapi:RegisterEventSourceW ((null),L"storeagent"): stub
//	0120:0124:fixme:advapi:ReportEventW (00000000CAFE4242,0x0002,0x0000,0x00000002,...): stub
//	0120:0124:warn:eventlog:ReportEventW L"no broker configured"
func ParseEventLog(log string) []Event {
	var events []Event
	source := map[string]string{} // pid -> source
	current := map[string]int{}   // pid:tid -> 1 + index of the event whose message follows
	for _, line := range strings.Split(log, "\n") {
		// A program's own output without a line end may come first.
		if loc := debugLine.FindStringIndex(line); loc != nil {
			line = line[loc[0]:]
		}
		parts := strings.SplitN(strings.TrimRight(line, "\r"), ":", 5)
		if len(parts) < 5 {
			continue
		}
		pid, thread, channel := parts[0], parts[0]+":"+parts[1], parts[2]+":"+parts[3]
		fn, args, _ := strings.Cut(parts[4], " ")
		switch {
		case channel == "fixme:advapi" && fn == "RegisterEventSourceW":
			if _, name, ok := strings.Cut(args, ","); ok {
				source[pid] = unquoteWine(strings.TrimSuffix(strings.TrimSuffix(name, "): stub"), ")"))
			}
		case channel == "fixme:advapi" && fn == "ReportEventW":
			f := strings.Split(strings.TrimPrefix(args, "("), ",")
			if len(f) < 4 {
				continue
			}
			typ, err1 := strconv.ParseUint(f[1], 0, 16)
			id, err2 := strconv.ParseUint(f[3], 0, 32)
			if err1 != nil || err2 != nil {
				continue
			}
			events = append(events, Event{Source: source[pid], Type: eventType(typ), ID: uint32(id)})
			current[thread] = len(events)
		case strings.HasSuffix(channel, ":eventlog") && fn == "ReportEventW":
			if i := current[thread]; i > 0 {
				events[i-1].Message += unquoteWine(args)
			}
		}
	}
	return events
}

// debugLine is the start of a line of Wine's debug output with +pid:
// process, thread, class.
var debugLine = regexp.MustCompile(`[0-9a-f]{4,8}:[0-9a-f]{4,8}:(fixme|err|warn|trace):`)

func eventType(t uint64) string {
	switch t {
	case 0x1:
		return "error"
	case 0x2:
		return "warning"
	case 0x4:
		return "information"
	}
	return "type " + strconv.FormatUint(t, 16)
}

// unquoteWine reads a string as Wine's debugstr_w prints it: L"..." with C
// escapes.
func unquoteWine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "L")
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return strings.Trim(s, `"`)
}
