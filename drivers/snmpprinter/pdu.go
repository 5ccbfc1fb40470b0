package snmpprinter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/storewatch/storewatch/drivers"
)

// errMissing says the agent has no such object.
var errMissing = errors.New("no such object")

func missing(p gosnmp.SnmpPDU) bool {
	switch p.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return true
	}
	return false
}

// intValue reads an INTEGER-like value.
func intValue(p gosnmp.SnmpPDU) (int, error) {
	if missing(p) {
		return 0, fmt.Errorf("%s: %w", p.Name, errMissing)
	}
	switch p.Type {
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.Uinteger32, gosnmp.TimeTicks:
		b := gosnmp.ToBigInt(p.Value)
		if !b.IsInt64() {
			return 0, drivers.ProtocolError("%s: %v does not fit an integer", p.Name, b)
		}
		return int(b.Int64()), nil
	}
	return 0, drivers.ProtocolError("%s is %v, want an integer", p.Name, p.Type)
}

// octets reads an OCTET STRING.
func octets(p gosnmp.SnmpPDU) ([]byte, error) {
	if missing(p) {
		return nil, fmt.Errorf("%s: %w", p.Name, errMissing)
	}
	if p.Type != gosnmp.OctetString {
		return nil, drivers.ProtocolError("%s is %v, want an OCTET STRING", p.Name, p.Type)
	}
	b, ok := p.Value.([]byte)
	if !ok {
		return nil, drivers.ProtocolError("%s: OCTET STRING holds %T", p.Name, p.Value)
	}
	return b, nil
}

// text reads a DisplayString, trimmed of padding.
func text(p gosnmp.SnmpPDU) (string, error) {
	b, err := octets(p)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00")), nil
}

// oidValue reads an OBJECT IDENTIFIER.
func oidValue(p gosnmp.SnmpPDU) (string, error) {
	if missing(p) {
		return "", fmt.Errorf("%s: %w", p.Name, errMissing)
	}
	s, ok := p.Value.(string)
	if p.Type != gosnmp.ObjectIdentifier || !ok {
		return "", drivers.ProtocolError("%s is %v, want an OBJECT IDENTIFIER", p.Name, p.Type)
	}
	return "." + strings.TrimPrefix(s, "."), nil
}

// under returns the arcs of name below root, or false.
func under(name, root string) (string, bool) {
	name = "." + strings.TrimPrefix(name, ".")
	rest, ok := strings.CutPrefix(name, root+".")
	return rest, ok && rest != ""
}

// ParseSupplies builds prtMarkerSuppliesTable rows from a walk of
// .1.3.6.1.2.1.43.11.1.1 (OIDs column.i.j).
func ParseSupplies(pdus []gosnmp.SnmpPDU) ([]Supply, error) {
	rows := map[string]*Supply{}
	for _, p := range pdus {
		rest, ok := under(p.Name, oidPrtMarkerSupplies)
		if !ok {
			continue
		}
		colStr, idx, ok := strings.Cut(rest, ".")
		col, err := strconv.Atoi(colStr)
		if !ok || err != nil || strings.Count(idx, ".") != 1 {
			return nil, drivers.ProtocolError("%s is not a prtMarkerSuppliesTable cell", p.Name)
		}
		s := rows[idx]
		if s == nil {
			s = &Supply{Index: idx, Max: levelUnknown, Level: levelUnknown}
			rows[idx] = s
		}
		switch col {
		case supplyColClass:
			s.Class, err = intValue(p)
		case supplyColType:
			s.Type, err = intValue(p)
		case supplyColUnit:
			s.Unit, err = intValue(p)
		case supplyColMaxCapacity:
			s.Max, err = intValue(p)
		case supplyColLevel:
			s.Level, err = intValue(p)
		case supplyColDescription:
			s.Description, err = text(p)
		}
		if err != nil && !errors.Is(err, errMissing) {
			return nil, err
		}
	}
	out := make([]Supply, 0, len(rows))
	for _, s := range rows {
		out = append(out, *s)
	}
	sortSupplies(out)
	return out, nil
}
