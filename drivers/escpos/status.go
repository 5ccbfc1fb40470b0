package escpos

import (
	"fmt"
	"strings"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// Every DLE EOT answer has the pattern 0xx1xx10: bits 1 and 4 set, bits 0
// and 7 clear. A byte that does not fit is not a status at all (an echo, a
// late GS I answer, line noise), so it is a protocol error, never a fault.
const (
	fixedMask  = 0x93
	fixedValue = 0x12
)

// DLE EOT 1: printer status.
const (
	p1DrawerHigh     = 0x04 // drawer kick-out connector pin 3 HIGH
	p1Offline        = 0x08
	p1WaitingOnline  = 0x20 // waiting for online recovery
	p1FeedButtonDown = 0x40
)

// DLE EOT 2: offline cause.
const (
	p2CoverOpen  = 0x04
	p2FeedButton = 0x08 // paper being fed by the FEED button
	p2PaperEnd   = 0x20 // printing stopped by paper end
	p2Error      = 0x40
)

// DLE EOT 3: error cause.
const (
	p3Recoverable     = 0x04 // Epson: mechanical error; Citizen: black-mark error
	p3Cutter          = 0x08
	p3Unrecoverable   = 0x20
	p3AutoRecoverable = 0x40 // e.g. head overheat
)

// DLE EOT 4: roll paper sensor.
const (
	p4NearEnd  = 0x0C
	p4PaperEnd = 0x60
)

// Status holds the four DLE EOT answers.
type Status [4]byte

// ParseStatus checks the four answers to DLE EOT 1, 2, 3 and 4.
func ParseStatus(b []byte) (Status, error) {
	var s Status
	if len(b) != 4 {
		return s, drivers.ProtocolError("want 4 DLE EOT answers, have %d", len(b))
	}
	for i, v := range b {
		if err := checkStatusByte(byte(i+1), v); err != nil {
			return s, err
		}
		s[i] = v
	}
	return s, nil
}

func checkStatusByte(n, b byte) error {
	if b&fixedMask != fixedValue {
		return drivers.ProtocolError("DLE EOT %d answered %02X, which is not a status byte (want the pattern 0xx1xx10)", n, b)
	}
	return nil
}

func (s Status) String() string { return fmt.Sprintf("DLE EOT 1-4 = % X", s[:]) }

// Drawer says which level of drawer kick-out pin 3 means "open". It depends
// on the drawer's switch, so it is set per site.
type Drawer string

// Drawer polarities.
const (
	DrawerOpenHigh Drawer = "high"   // pin 3 HIGH = open (the printer reports 0x16)
	DrawerOpenLow  Drawer = "low"    // pin 3 LOW = open
	DrawerIgnore   Drawer = "ignore" // no drawer, or its switch is not wired
)

// Faults maps the status onto the shared vocabulary (README: fault mapping).
func (s Status) Faults(drawer Drawer) []wire.Fault {
	p1, p2, p3, p4 := s[0], s[1], s[2], s[3]
	var c conditions
	c.coverOpen = when(p2&p2CoverOpen != 0, "DLE EOT 2 = %02X (bit 2: cover open)", p2)
	c.paperOut = when(p2&p2PaperEnd != 0 || p4&p4PaperEnd != 0, "DLE EOT 2 = %02X, DLE EOT 4 = %02X (paper end)", p2, p4)
	c.paperLow = when(p4&p4NearEnd != 0, "DLE EOT 4 = %02X (bits 2,3: paper near end)", p4)
	c.cutter = when(p3&p3Cutter != 0, "DLE EOT 3 = %02X (bit 3: autocutter error)", p3)
	c.recoverable = when(p3&p3Recoverable != 0, "DLE EOT 3 = %02X (bit 2: recoverable error)", p3)
	c.autoRecoverable = when(p3&p3AutoRecoverable != 0, "DLE EOT 3 = %02X (bit 6: auto-recoverable error, e.g. head too hot)", p3)
	c.unrecoverable = when(p3&p3Unrecoverable != 0, "DLE EOT 3 = %02X (bit 5: unrecoverable error)", p3)
	c.errorNoCause = when(p2&p2Error != 0 && p3&(p3Recoverable|p3Cutter|p3Unrecoverable|p3AutoRecoverable) == 0,
		"DLE EOT 2 = %02X (bit 6: error) but DLE EOT 3 = %02X names no cause", p2, p3)
	var why []string
	if p2&p2FeedButton != 0 || p1&p1FeedButtonDown != 0 {
		why = append(why, "paper feed button")
	}
	if p1&p1WaitingOnline != 0 {
		why = append(why, "waiting for online recovery")
	}
	detail := ""
	if len(why) > 0 {
		detail = ": " + strings.Join(why, ", ")
	}
	c.offline = when(p1&p1Offline != 0, "DLE EOT 1 = %02X (bit 3: offline)%s", p1, detail)
	c.drawerHigh, c.drawerFrom = p1&p1DrawerHigh != 0, fmt.Sprintf("DLE EOT 1 = %02X", p1)
	return c.faults(drawer)
}

// conditions are what a status source (DLE EOT, automatic status back)
// says, each the fault's detail, or "" when the condition is off.
type conditions struct {
	coverOpen, paperOut, paperLow, cutter, recoverable, autoRecoverable, unrecoverable string
	errorNoCause                                                                       string // an error is reported without a cause
	offline                                                                            string
	drawerHigh                                                                         bool
	drawerFrom                                                                         string // where the drawer level was read, "DLE EOT 1 = 16"
}

// when is the detail when cond holds, else "".
func when(cond bool, format string, args ...any) string {
	if !cond {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

// faults maps conditions onto the shared vocabulary: paper out hides paper
// low, and offline on its own is only news when nothing else explains it
// (the printer goes offline for every one of them).
func (c conditions) faults(drawer Drawer) []wire.Fault {
	var out []wire.Fault
	add := func(code wire.FaultCode, detail string) {
		if detail != "" {
			out = append(out, wire.NewFault(code, detail))
		}
	}
	add(wire.FaultCoverOpen, c.coverOpen)
	if c.paperOut != "" {
		add(wire.FaultPaperOut, c.paperOut)
	} else {
		add(wire.FaultPaperLow, c.paperLow)
	}
	add(wire.FaultCutterError, c.cutter)
	add(wire.FaultMechanicalError, c.recoverable)
	add(wire.FaultHeadOverheat, c.autoRecoverable)
	add(wire.FaultUnrecoverableError, c.unrecoverable)
	add(wire.FaultMechanicalError, c.errorNoCause)
	if len(out) == 0 {
		add(wire.FaultOffline, c.offline)
	}
	if (drawer == DrawerOpenHigh && c.drawerHigh) || (drawer == DrawerOpenLow && !c.drawerHigh) {
		add(wire.FaultDrawerOpen, fmt.Sprintf("%s (drawer pin 3 %s)", c.drawerFrom, map[bool]string{true: "HIGH", false: "LOW"}[c.drawerHigh]))
	}
	return out
}
