package zpl

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/storewatch/storewatch/devsim"
)

// Faults this printer can show.
const (
	PaperOut        = "paper_out"          // media out
	PaperLow        = "paper_low"          // paper near end (a ~HQES warning, KR403)
	RibbonOut       = "ribbon_out"         //
	CoverOpen       = "cover_open"         // print head open
	CutterError     = "cutter_error"       // ~HQES only
	HeadOverheat    = "head_overheat"      // printhead over temperature (~HS flag l, ~HQES 10)
	MotorOverheat   = "motor_overheat"     // motor over temperature (~HQES 20; ~HS's one over-temperature flag l too)
	HeadCold        = "head_cold"          // under temperature (~HS only)
	HeadFault       = "head_fault"         // bad printhead element (~HQES only)
	Paused          = "paused"             // paused at the panel: the printer's offline state
	BufferFull      = "buffer_full"        // receive buffer full (~HS only)
	ConfigLost      = "config_lost"        // corrupt RAM (~HS only)
	CleanHead       = "maintenance_due"    // "clean printhead" warning (~HQES only)
	WrongIdentity   = "wrong_identity"     // ~HI answers as a different printer
	SilentHSOnError = "hs_silent_on_error" // no ~HS answer during media out, ribbon out, head open, over temperature
	NoHQES          = "no_hqes"            // older firmware: ~HQES unknown, never answered
	NoHQSN          = "no_hqsn"            // older firmware or a clone: ~HQSN unknown, never answered
)

// Identity is the ~HI answer's fields and the ~HQSN serial number.
type Identity struct{ Model, Firmware, DotsPerMM, Memory, Serial string }

// Default identities.
var (
	DefaultIdentity = Identity{"ZD420", "V84.20.18Z", "8", "8192KB", "D2J184502117"}
	OtherIdentity   = Identity{"GK420d", "V61.17.17Z", "8", "4096KB", "28J162300870"}
)

// Printer is the emulated label printer.
type Printer struct {
	faults *devsim.Faults
	id     Identity
	other  Identity
}

// New returns a printer with the default identity.
func New() *Printer {
	return &Printer{
		faults: devsim.NewFaults(PaperOut, PaperLow, RibbonOut, CoverOpen, CutterError, HeadOverheat, MotorOverheat, HeadCold,
			HeadFault, Paused, BufferFull, ConfigLost, CleanHead, WrongIdentity, SilentHSOnError, NoHQES, NoHQSN,
			devsim.FaultGarbage, devsim.FaultSilent, devsim.FaultSlow),
		id:    DefaultIdentity,
		other: OtherIdentity,
	}
}

func init() { devsim.Register("zpl", func() devsim.Switchable { return New() }) }

// Switchboard returns the printer's faults.
func (p *Printer) Switchboard() *devsim.Faults { return p.faults }

// Serve reads ZPL from rw and answers the host queries. Tilde commands are
// handled as they arrive; caret commands (label formats) are consumed.
func (p *Printer) Serve(ctx context.Context, rw io.ReadWriter) error {
	r := bufio.NewReader(rw)
	for {
		b, err := r.ReadByte()
		if err != nil {
			return err
		}
		if b != '~' {
			continue
		}
		cmd := make([]byte, 2)
		if _, err := io.ReadFull(r, cmd); err != nil {
			return err
		}
		var answer []byte
		switch string(cmd) {
		case "HS":
			answer = p.hostStatus()
		case "HI":
			answer = p.hostID()
		case "HQ":
			q := make([]byte, 2)
			if _, err := io.ReadFull(r, q); err != nil {
				return err
			}
			switch {
			case string(q) == "ES" && !p.faults.On(NoHQES):
				answer = p.errorStatus()
			case string(q) == "SN" && !p.faults.On(NoHQSN):
				answer = p.serialNumber()
			}
		}
		if answer == nil || p.faults.On(devsim.FaultSilent) {
			continue
		}
		p.faults.Pause(ctx)
		if p.faults.On(devsim.FaultGarbage) {
			// Same length, high bit set: no STX, ETX or CR LF survives.
			for i := range answer {
				answer[i] |= 0x80
			}
		}
		if _, err := rw.Write(answer); err != nil {
			return err
		}
	}
}

func flag(on bool) int {
	if on {
		return 1
	}
	return 0
}

// hostStatus builds the three ~HS strings (reference 2.2): 9600 8N1
// Xon/Xoff (aaa = 030), 1245-dot labels, thermal transfer, tear-off.
func (p *Printer) hostStatus() []byte {
	f := p.faults
	hot := f.On(HeadOverheat) || f.On(MotorOverheat)
	if f.On(SilentHSOnError) && (f.On(PaperOut) || f.On(RibbonOut) || f.On(CoverOpen) || hot) {
		return nil
	}
	formats := 0
	if f.On(BufferFull) {
		formats = 999
	}
	s1 := fmt.Sprintf("030,%d,%d,1245,%03d,%d,0,0,000,%d,%d,%d",
		flag(f.On(PaperOut)), flag(f.On(Paused)), formats, flag(f.On(BufferFull)),
		flag(f.On(ConfigLost)), flag(f.On(HeadCold)), flag(hot))
	s2 := fmt.Sprintf("001,0,%d,%d,1,2,6,0,00000000,1,000", flag(f.On(CoverOpen)), flag(f.On(RibbonOut)))
	s3 := "0000,0"
	var out []byte
	for _, s := range []string{s1, s2, s3} {
		out = append(out, 0x02)
		out = append(out, s...)
		out = append(out, 0x03, '\r', '\n')
	}
	return out
}

// errorStatus builds the ~HQES answer in the guide's layout (reference 2.3).
func (p *Printer) errorStatus() []byte {
	f := p.faults
	var errs, warns uint32
	for name, mask := range map[string]uint32{PaperOut: 0x1, RibbonOut: 0x2, CoverOpen: 0x4, CutterError: 0x8, HeadOverheat: 0x10, MotorOverheat: 0x20, HeadFault: 0x40} {
		if f.On(name) {
			errs |= mask
		}
	}
	if f.On(CleanHead) {
		warns |= 0x2
	}
	if f.On(PaperLow) {
		warns |= 0x8
	}
	line := func(label string, v uint32) string {
		return fmt.Sprintf("   %-16s%d %08X %08X\r\n", label, flag(v != 0), 0, v)
	}
	return []byte("\x02\r\nPRINTER STATUS\r\n" + line("ERRORS:", errs) + line("WARNINGS:", warns) + "\x03")
}

// serialNumber answers ~HQSN as the Zebra Programming Guide's ~HQ section
// shows it: STX, the lines "SERIAL NUMBER" and the number separated by CR
// LF, ETX; laid out as this emulator's ~HQES (STX CR LF … CR LF ETX).
func (p *Printer) serialNumber() []byte {
	id := p.id
	if p.faults.On(WrongIdentity) {
		id = p.other
	}
	return []byte("\x02\r\nSERIAL NUMBER\r\n" + id.Serial + "\r\n\x03")
}

// hostID answers ~HI: model, firmware, dots per mm, memory, framed like
// ~HS.
func (p *Printer) hostID() []byte {
	id := p.id
	if p.faults.On(WrongIdentity) {
		id = p.other
	}
	return []byte(fmt.Sprintf("\x02%s,%s,%s,%s\x03\r\n", id.Model, id.Firmware, id.DotsPerMM, id.Memory))
}
