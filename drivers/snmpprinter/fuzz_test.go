package snmpprinter

import (
	"context"
	"errors"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/storewatch/storewatch/drivers"
)

func FuzzErrorState(f *testing.F) {
	for _, s := range [][]byte{{0x40, 0x00}, {0x08, 0x00}, {0x80, 0x00}, {0x0A, 0x00}, {0x04, 0x00}, {0x42}, {}, {0xFF, 0xFF, 0xFF}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e := ErrorState(b)
		names := e.Names()
		set := 0
		for k := 0; k < 8*len(b); k++ {
			if e.Bit(k) {
				set++
			}
		}
		if set != len(names) {
			t.Fatalf("% X: %d bits set, %d names", b, set, len(names))
		}
		for _, fault := range e.Faults() {
			if !fault.Code.Known() {
				t.Fatalf("unknown fault %s", fault.Code)
			}
		}
		w := e.Without(bitOffline)
		for k := 0; k < 8*len(b); k++ {
			if w.Bit(k) != (e.Bit(k) && k != bitOffline) {
				t.Fatalf("% X without bit %d: bit %d is %v", b, bitOffline, k, w.Bit(k))
			}
		}
	})
}

func FuzzSupply(f *testing.F) {
	f.Add(3, 3, 10000, 8000)
	f.Add(4, 4, 100, 97)
	f.Add(3, 9, -2, -3)
	f.Add(3, 7, 0, 0)
	f.Fuzz(func(t *testing.T, class, typ, max, level int) {
		s := Supply{Class: class, Type: typ, Max: max, Level: level}
		pct, ok := s.Remaining()
		if ok && (pct < 0 || pct > 100) {
			t.Fatalf("%+v: %v %%", s, pct)
		}
		if len(SupplyFaults([]Supply{s}, DefaultLowPercent)) > 1 {
			t.Fatalf("%+v: more than one fault", s)
		}
	})
}

// FuzzAgent gives the driver one object of any type and value in place of
// each interesting column: it must read, or fail with a protocol error.
func FuzzAgent(f *testing.F) {
	f.Add(0, uint8(gosnmp.OctetString), []byte{0x40, 0x00}, 0)
	f.Add(1, uint8(gosnmp.Integer), []byte{}, -3)
	f.Add(2, uint8(gosnmp.ObjectIdentifier), []byte(".1.3.6.1.2.1.25.3.1.5"), 0)
	f.Add(3, uint8(gosnmp.NoSuchObject), []byte{}, 0)
	f.Add(9, uint8(gosnmp.Integer), []byte{}, printerWarmup) // warming up
	f.Add(1, uint8(gosnmp.Integer), []byte{}, 5)             // down
	targets := []string{
		oidHrPrinterError + ".1", oidHrDeviceStatus + ".1", oidHrDeviceType + ".1",
		oidPrtMarkerSupplies + ".9.1.1", oidPrtMarkerSupplies + ".8.1.1", oidPrtCoverStatus + ".1.1",
		oidHrDeviceDescr + ".1", oidPrtMarkerSupplies + ".6.1.1", oidPrtMarkerSupplies + ".9.1",
		oidHrPrinterStatus + ".1",
	}
	f.Fuzz(func(t *testing.T, which int, typ uint8, raw []byte, n int) {
		a := &fakeAgent{objects: loadAgents(t)[0].objects}
		name := targets[(which%len(targets)+len(targets))%len(targets)]
		p := gosnmp.SnmpPDU{Name: name, Type: gosnmp.Asn1BER(typ)}
		switch p.Type {
		case gosnmp.OctetString:
			p.Value = raw
		case gosnmp.ObjectIdentifier:
			p.Value = string(raw)
		case gosnmp.Integer:
			p.Value = n
		case gosnmp.Counter32, gosnmp.Gauge32:
			p.Value = uint(n)
		default:
			p.Value = raw
		}
		a.objects[name] = p
		d := newFaked(t, a, "")
		_, err := d.Probe(context.Background())
		if err != nil && !errors.Is(err, drivers.ErrProtocol) {
			t.Fatalf("%s = %v %v: %v", name, p.Type, p.Value, err)
		}
	})
}
