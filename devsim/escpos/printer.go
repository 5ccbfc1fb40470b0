package escpos

import (
	"bufio"
	"context"
	"io"
	"sync"

	"github.com/storewatch/storewatch/devsim"
)

// Faults this printer can show. Besides the device conditions there are the
// common transport misbehaviours (garbage, silent, slow) and two identity
// switches.
const (
	PaperLow           = "paper_low"           // roll near end
	PaperOut           = "paper_out"           // roll end: printer stops, goes offline
	CoverOpen          = "cover_open"          // offline, cause cover open
	CutterError        = "cutter_error"        // autocutter jam
	MechanicalError    = "mechanical_error"    // recoverable error
	HeadOverheat       = "head_overheat"       // auto-recoverable error
	UnrecoverableError = "unrecoverable_error" // needs service
	Offline            = "offline"             // offline with no other cause (e.g. waiting for online recovery)
	DrawerHigh         = "drawer_open"         // drawer kick-out pin 3 HIGH
	FeedButton         = "feed_button"         // paper being fed by the FEED button (offline)
	WrongIdentity      = "wrong_identity"      // answers GS I as a different printer
	NoPrinterInfo      = "no_printer_info"     // older firmware: no answer to GS I 65..69
)

// Identity is what the printer says about itself through GS I.
type Identity struct {
	ModelID, TypeID, ROMID byte
	Firmware, Maker, Model string
	Serial, Font           string
}

// Default identities. The one-byte IDs follow the reference's examples
// (TM-T88 = 0x20; type 0x02 = autocutter installed).
var (
	DefaultIdentity = Identity{ModelID: 0x20, TypeID: 0x02, ROMID: 0x41, Firmware: "1.28", Maker: "EPSON", Model: "TM-T88V", Serial: "X5E1234567", Font: "ANK"}
	OtherIdentity   = Identity{ModelID: 0x22, TypeID: 0x02, ROMID: 0x45, Firmware: "2.01", Maker: "EPSON", Model: "TM-T20III", Serial: "Y7K7654321", Font: "ANK"}
)

// Printer is the emulated printer.
type Printer struct {
	faults *devsim.Faults
	id     Identity
	other  Identity

	mu  sync.Mutex
	asb byte // GS a enable mask; 0 = automatic status back off
}

// New returns a printer with the default identity.
func New() *Printer {
	return &Printer{
		faults: devsim.NewFaults(PaperLow, PaperOut, CoverOpen, CutterError, MechanicalError, HeadOverheat,
			UnrecoverableError, Offline, DrawerHigh, FeedButton, WrongIdentity, NoPrinterInfo,
			devsim.FaultGarbage, devsim.FaultSilent, devsim.FaultSlow),
		id:    DefaultIdentity,
		other: OtherIdentity,
	}
}

// NewWith returns a printer that identifies itself as id (a store has
// several printers of one model, each with its own serial number).
func NewWith(id Identity) *Printer {
	p := New()
	p.id = id
	return p
}

func init() { devsim.Register("escpos", func() devsim.Switchable { return New() }) }

// Switchboard returns the printer's faults.
func (p *Printer) Switchboard() *devsim.Faults { return p.faults }

// Serve reads commands from rw and answers them until rw fails or ctx ends.
func (p *Printer) Serve(ctx context.Context, rw io.ReadWriter) error {
	r := bufio.NewReader(rw)
	for {
		b, err := r.ReadByte()
		if err != nil {
			return err
		}
		var answer []byte
		switch b {
		case 0x10: // DLE
			answer, err = p.dle(r)
		case 0x1D: // GS
			answer, err = p.gs(r)
		case 0x1B: // ESC
			err = p.esc(r)
		default:
			// Print data and commands that need no answer.
		}
		if err != nil {
			return err
		}
		if answer == nil || p.faults.On(devsim.FaultSilent) {
			continue
		}
		p.faults.Pause(ctx)
		if p.faults.On(devsim.FaultGarbage) {
			answer = garbage(len(answer))
		}
		if _, err := rw.Write(answer); err != nil {
			return err
		}
	}
}

// garbage is n bytes that fit no ESC/POS answer: bit 0 and bit 7 set break
// the DLE EOT pattern, and there is no 5F header or NUL.
func garbage(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = 0xA5 ^ byte(i*0x3C)
	}
	return out
}

func (p *Printer) dle(r *bufio.Reader) ([]byte, error) {
	cmd, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	switch cmd {
	case 0x04: // DLE EOT n
		n, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch n {
		case 1, 2, 3, 4:
			return []byte{p.status(n)}, nil
		case 7, 8, 18: // ink, peeler, interface: a second byte follows
			if _, err := r.ReadByte(); err != nil {
				return nil, err
			}
			return []byte{0x12}, nil
		}
	case 0x05: // DLE ENQ n: error recovery; no answer
		_, err := r.ReadByte()
		return nil, err
	}
	return nil, nil
}

func (p *Printer) gs(r *bufio.Reader) ([]byte, error) {
	cmd, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	n, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	switch cmd {
	case 'I':
		return p.printerID(n), nil
	case 'r':
		return p.transmitStatus(n), nil
	case 'a':
		p.mu.Lock()
		p.asb = n
		p.mu.Unlock()
		if n != 0 {
			return p.asbBytes(), nil
		}
	}
	return nil, nil
}

func (p *Printer) esc(r *bufio.Reader) error {
	cmd, err := r.ReadByte()
	if err != nil {
		return err
	}
	switch cmd {
	case '@': // initialise: ASB off
		p.mu.Lock()
		p.asb = 0
		p.mu.Unlock()
	case '=', 'd', 'J', 'a', '!', 'E', '-', 'M', 't', 'R': // one parameter byte
		_, err = r.ReadByte()
	case 'p': // drawer kick: m t1 t2
		for i := 0; i < 3 && err == nil; i++ {
			_, err = r.ReadByte()
		}
	}
	return err
}

// errorActive reports an error that sets DLE EOT 2 bit 6.
func (p *Printer) errorActive() bool {
	f := p.faults
	return f.On(CutterError) || f.On(MechanicalError) || f.On(HeadOverheat) || f.On(UnrecoverableError)
}

// status builds the DLE EOT n byte from the reference's tables (1.2): base
// 0x12 with each condition's mask ORed in.
func (p *Printer) status(n byte) byte {
	f := p.faults
	b := byte(0x12)
	switch n {
	case 1:
		if f.On(DrawerHigh) {
			b |= 0x04
		}
		if f.On(Offline) || f.On(CoverOpen) || f.On(PaperOut) || f.On(FeedButton) || p.errorActive() {
			b |= 0x08
		}
		if f.On(Offline) {
			b |= 0x20 // waiting for online recovery
		}
		if f.On(FeedButton) {
			b |= 0x40
		}
	case 2:
		if f.On(CoverOpen) {
			b |= 0x04
		}
		if f.On(FeedButton) {
			b |= 0x08
		}
		if f.On(PaperOut) {
			b |= 0x20
		}
		if p.errorActive() {
			b |= 0x40
		}
	case 3:
		if f.On(MechanicalError) {
			b |= 0x04
		}
		if f.On(CutterError) {
			b |= 0x08
		}
		if f.On(UnrecoverableError) {
			b |= 0x20
		}
		if f.On(HeadOverheat) {
			b |= 0x40
		}
	case 4:
		if f.On(PaperLow) {
			b |= 0x0C
		}
		if f.On(PaperOut) {
			b |= 0x60
		}
	}
	return b
}

// printerID answers GS I n (reference 1.6).
func (p *Printer) printerID(n byte) []byte {
	id := p.id
	if p.faults.On(WrongIdentity) {
		id = p.other
	}
	block := func(s string) []byte {
		if p.faults.On(NoPrinterInfo) {
			return nil
		}
		return append(append([]byte{0x5F}, s...), 0x00)
	}
	switch n {
	case 1, 49:
		return []byte{id.ModelID}
	case 2, 50:
		return []byte{id.TypeID}
	case 3, 51:
		return []byte{id.ROMID}
	case 65:
		return block(id.Firmware)
	case 66:
		return block(id.Maker)
	case 67:
		return block(id.Model)
	case 68:
		return block(id.Serial)
	case 69:
		return block(id.Font)
	}
	return nil
}

// transmitStatus answers GS r n (reference 1.5). It is processed from the
// buffer, and a printer stopped at paper end does not execute it.
func (p *Printer) transmitStatus(n byte) []byte {
	f := p.faults
	switch n {
	case 1, 49:
		if f.On(PaperOut) {
			return nil
		}
		var b byte
		if f.On(PaperLow) {
			b |= 0x03
		}
		return []byte{b}
	case 2, 50:
		if f.On(DrawerHigh) {
			return []byte{0x01}
		}
		return []byte{0x00}
	}
	return nil
}

// asbBytes is the 4-byte automatic status back (reference 1.4).
func (p *Printer) asbBytes() []byte {
	f := p.faults
	b1, b2, b3 := byte(0x10), byte(0), byte(0)
	if f.On(DrawerHigh) {
		b1 |= 0x04
	}
	if p.status(1)&0x08 != 0 {
		b1 |= 0x08
	}
	if f.On(CoverOpen) {
		b1 |= 0x20
	}
	if f.On(FeedButton) {
		b1 |= 0x40
	}
	if f.On(MechanicalError) {
		b2 |= 0x04
	}
	if f.On(CutterError) {
		b2 |= 0x08
	}
	if f.On(UnrecoverableError) {
		b2 |= 0x20
	}
	if f.On(HeadOverheat) {
		b2 |= 0x40
	}
	if f.On(PaperLow) {
		b3 |= 0x03
	}
	if f.On(PaperOut) {
		b3 |= 0x0C
	}
	return []byte{b1, b2, b3, 0x00}
}
