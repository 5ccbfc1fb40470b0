package zpl

import (
	"bytes"
	"strings"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// ParseHostID reads the ~HI answer "model,firmware,dpm,memory[,options]".
// Whether it is framed by STX/ETX is not documented, so either is accepted.
func ParseHostID(b []byte) (wire.Identity, error) {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > 0 && b[0] == stx {
		if b[len(b)-1] != etx {
			return wire.Identity{}, drivers.ProtocolError("~HI answer starts with STX but does not end with ETX")
		}
		b = b[1 : len(b)-1]
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return wire.Identity{}, drivers.ProtocolError("~HI answer has byte %02X", c)
		}
	}
	f := strings.Split(string(b), ",")
	if len(f) < 4 || strings.TrimSpace(f[0]) == "" || strings.TrimSpace(f[1]) == "" {
		return wire.Identity{}, drivers.ProtocolError("~HI answer %q: want model,firmware,dots per mm,memory", b)
	}
	id := wire.Identity{
		Model:    strings.TrimSpace(f[0]),
		Firmware: strings.TrimSpace(f[1]),
		Extra:    map[string]string{"dots_per_mm": strings.TrimSpace(f[2]), "memory": strings.TrimSpace(f[3])},
	}
	if len(f) > 4 {
		id.Extra["options"] = strings.TrimSpace(strings.Join(f[4:], ","))
	}
	return id, nil
}

// maxSerial bounds a serial number: Zebra's are about a dozen characters.
const maxSerial = 64

// ParseSerialNumber reads the ~HQSN answer. Like every ~HQ answer it starts
// with STX, has CR LF between its lines and ends with ETX (Zebra
// Programming Guide, ~HQ); the lines are the title "SERIAL NUMBER" and the
// number, e.g. "41A06440023". Blank lines and spaces around lines are
// allowed, as in ~HQES.
func ParseSerialNumber(b []byte) (string, error) {
	if len(b) < 2 || b[0] != stx || b[len(b)-1] != etx {
		return "", drivers.ProtocolError("~HQSN answer is not framed by STX and ETX")
	}
	var lines []string
	for _, l := range bytes.Split(b[1:len(b)-1], []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		for _, c := range l {
			if c < 0x20 || c > 0x7E {
				return "", drivers.ProtocolError("~HQSN answer has byte %02X", c)
			}
		}
		lines = append(lines, string(l))
	}
	if len(lines) != 2 || !strings.EqualFold(lines[0], "SERIAL NUMBER") {
		return "", drivers.ProtocolError("~HQSN answer %q: want the line SERIAL NUMBER and the number", b)
	}
	sn := lines[1]
	if len(sn) > maxSerial || strings.ContainsAny(sn, " ,") {
		return "", drivers.ProtocolError("~HQSN serial number %q is not one word of at most %d characters", sn, maxSerial)
	}
	return sn, nil
}
