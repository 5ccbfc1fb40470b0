package snmpprinter

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/storewatch/storewatch/devsim"
)

// Faults this printer can show.
const (
	PaperLow         = "paper_low"         // lowPaper
	PaperOut         = "paper_out"         // noPaper
	CoverOpen        = "cover_open"        // doorOpen, prtCoverStatus coverOpen(3)
	PaperJam         = "paper_jam"         // jammed
	Offline          = "offline"           // offline, hrDeviceStatus down(5)
	TonerLow         = "toner_low"         // lowToner, black toner at 4 %
	TonerOut         = "toner_out"         // noToner, black toner at 0
	ServiceRequested = "service_requested" // serviceRequested
	WrongIdentity    = "wrong_identity"    // answers as a different printer
	// WarmingUp is a printer heating its fuser before it is ready: the
	// hardest combination a driver can see, hrPrinterStatus warmup(5) with
	// hrDeviceStatus down(5) (RFC 3805's "moving on-line") and the offline
	// bit set, since the printer cannot print yet.
	WarmingUp = "warming_up"
)

// Identity is what the printer says about itself.
type Identity struct{ Model, Serial string }

// Default identities.
var (
	DefaultIdentity = Identity{"HP LaserJet Pro M404dn", "PHBQA12345"}
	OtherIdentity   = Identity{"Brother HL-L5100DN", "E78123A9N456789"}
)

// Printer is the emulated printer's SNMP view.
type Printer struct {
	faults *devsim.Faults
	// Control, when set, names a file read before every request: one fault
	// name per line switches it on (all others off); a line "delay 2s"
	// sets the "slow" delay. A missing file means no faults.
	Control string
}

// New returns a healthy printer.
func New() *Printer {
	return &Printer{faults: devsim.NewFaults(PaperLow, PaperOut, CoverOpen, PaperJam, Offline, TonerLow, TonerOut,
		ServiceRequested, WrongIdentity, WarmingUp, devsim.FaultGarbage, devsim.FaultSilent, devsim.FaultSlow)}
}

func init() { devsim.Register("snmpprinter", func() devsim.Switchable { return New() }) }

// Switchboard returns the printer's faults.
func (p *Printer) Switchboard() *devsim.Faults { return p.faults }

// reload applies the control file, if there is one.
func (p *Printer) reload() {
	if p.Control == "" {
		return
	}
	data, err := os.ReadFile(p.Control)
	if err != nil {
		p.faults.Clear()
		return
	}
	p.faults.Clear()
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "delay":
			if d, err := time.ParseDuration(f[1]); err == nil {
				p.faults.SetDelay(d)
			}
		case len(f) == 1:
			_ = p.faults.Set(f[0], true) // unknown names are ignored: never write to stderr
		}
	}
}

// value is one object: its pass_persist type and value text.
type value struct{ typ, val string }

type object struct {
	oid  []int
	name string
	value
}

// table builds every object the printer serves, sorted by OID.
func (p *Printer) table() []object {
	f := p.faults
	id := DefaultIdentity
	if f.On(WrongIdentity) {
		id = OtherIdentity
	}
	var bits uint16
	for k, name := range map[int]string{0: PaperLow, 1: PaperOut, 2: TonerLow, 3: TonerOut, 4: CoverOpen, 5: PaperJam, 6: Offline, 7: ServiceRequested} {
		if f.On(name) || k == 6 && f.On(WarmingUp) {
			bits |= 1 << (15 - k) // bit 0 is the most significant bit of the first octet
		}
	}
	devStatus, prStatus := 2, 3 // running, idle
	switch {
	case f.On(WarmingUp):
		devStatus, prStatus = 5, 5 // down, warmup: moving on-line
	case f.On(Offline) || f.On(PaperOut) || f.On(PaperJam) || f.On(CoverOpen) || f.On(TonerOut):
		devStatus, prStatus = 5, 1 // down, other
	case bits != 0:
		devStatus = 3 // warning
	}
	cover := 4 // coverClosed
	if f.On(CoverOpen) {
		cover = 3
	}
	toner := 8000 // of 10000 impressions
	switch {
	case f.On(TonerOut):
		toner = 0
	case f.On(TonerLow):
		toner = 400
	}
	errState := value{"octet", fmt.Sprintf("%02X %02X", bits>>8, bits&0xFF)}
	devStatusV := value{"integer", strconv.Itoa(devStatus)}
	if f.On(devsim.FaultGarbage) {
		// Right OIDs, wrong types: what a broken agent or a bad MIB
		// implementation sends.
		errState = value{"integer", "16384"}
		devStatusV = value{"string", "running"}
	}

	objs := []object{
		{parse("1.3.6.1.2.1.25.3.2.1.1.1"), "hrDeviceIndex.1", value{"integer", "1"}},
		{parse("1.3.6.1.2.1.25.3.2.1.2.1"), "hrDeviceType.1", value{"objectid", ".1.3.6.1.2.1.25.3.1.5"}},
		{parse("1.3.6.1.2.1.25.3.2.1.3.1"), "hrDeviceDescr.1", value{"string", id.Model}},
		{parse("1.3.6.1.2.1.25.3.2.1.5.1"), "hrDeviceStatus.1", devStatusV},
		{parse("1.3.6.1.2.1.25.3.2.1.6.1"), "hrDeviceErrors.1", value{"counter", "0"}},
		{parse("1.3.6.1.2.1.25.3.5.1.1.1"), "hrPrinterStatus.1", value{"integer", strconv.Itoa(prStatus)}},
		{parse("1.3.6.1.2.1.25.3.5.1.2.1"), "hrPrinterDetectedErrorState.1", errState},
		{parse("1.3.6.1.2.1.43.5.1.1.16.1"), "prtGeneralPrinterName.1", value{"string", id.Model}},
		{parse("1.3.6.1.2.1.43.5.1.1.17.1"), "prtGeneralSerialNumber.1", value{"string", id.Serial}},
		{parse("1.3.6.1.2.1.43.6.1.1.2.1.1"), "prtCoverDescription.1.1", value{"string", "Front Door"}},
		{parse("1.3.6.1.2.1.43.6.1.1.3.1.1"), "prtCoverStatus.1.1", value{"integer", strconv.Itoa(cover)}},
	}
	// Marker supplies: black toner (consumed, impressions), a waste toner
	// box (a receptacle that fills: 10 of 100 used) and an imaging drum
	// that only says "some remaining" (-3) with unknown capacity (-2).
	supplies := []struct {
		class, typ, unit int
		descr            string
		max, level       int
	}{
		{3, 3, 7, "Black Toner Cartridge", 10000, toner},
		{4, 4, 19, "Waste Toner Box", 100, 10},
		{3, 9, 7, "Imaging Drum", -2, -3},
	}
	for j, s := range supplies {
		for col, v := range map[int]value{
			4: {"integer", strconv.Itoa(s.class)}, 5: {"integer", strconv.Itoa(s.typ)}, 6: {"string", s.descr},
			7: {"integer", strconv.Itoa(s.unit)}, 8: {"integer", strconv.Itoa(s.max)}, 9: {"integer", strconv.Itoa(s.level)},
		} {
			objs = append(objs, object{parse(fmt.Sprintf("1.3.6.1.2.1.43.11.1.1.%d.1.%d", col, j+1)), "prtMarkerSupplies", v})
		}
	}
	sort.Slice(objs, func(i, j int) bool { return less(objs[i].oid, objs[j].oid) })
	return objs
}

func parse(s string) []int {
	var out []int
	for _, a := range strings.Split(strings.Trim(strings.TrimSpace(s), "."), ".") {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return nil
		}
		out = append(out, n)
	}
	return out
}

func less(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func equal(a, b []int) bool { return !less(a, b) && !less(b, a) }

func dotted(oid []int) string {
	var b strings.Builder
	for _, n := range oid {
		b.WriteString("." + strconv.Itoa(n))
	}
	return b.String()
}

// Serve speaks pass_persist on rw: snmpd writes commands, one per line, and
// reads the answers.
func (p *Printer) Serve(ctx context.Context, rw io.ReadWriter) error {
	r := bufio.NewReader(rw)
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		return strings.TrimRight(s, "\r\n"), err
	}
	for {
		cmd, err := line()
		if err != nil {
			return err
		}
		var answer string
		switch strings.ToLower(strings.TrimSpace(cmd)) {
		case "ping":
			answer = "PONG\n"
		case "get", "getnext":
			oid, err := line()
			if err != nil {
				return err
			}
			answer = p.lookup(oid, strings.EqualFold(strings.TrimSpace(cmd), "getnext"))
		case "set":
			if _, err := line(); err != nil {
				return err
			}
			if _, err := line(); err != nil {
				return err
			}
			answer = "not-writable\n"
		case "":
			continue
		default:
			answer = "NONE\n"
		}
		p.reload()
		if p.faults.On(devsim.FaultSilent) && answer != "PONG\n" {
			// snmpd waits for this helper, so silence means holding the
			// answer until the fault is switched off: the agent stops
			// answering its client meanwhile, as a hung printer does.
			for p.faults.On(devsim.FaultSilent) && ctx.Err() == nil {
				time.Sleep(50 * time.Millisecond)
				p.reload()
			}
		}
		p.faults.Pause(ctx)
		if _, err := io.WriteString(rw, answer); err != nil {
			return err
		}
	}
}

// lookup answers get (the object itself) or getnext (the first object
// after it).
func (p *Printer) lookup(oidText string, next bool) string {
	p.reload()
	want := parse(oidText)
	if want == nil {
		return "NONE\n"
	}
	for _, o := range p.table() {
		if (!next && equal(o.oid, want)) || (next && less(want, o.oid)) {
			return dotted(o.oid) + "\n" + o.typ + "\n" + o.val + "\n"
		}
	}
	return "NONE\n"
}
