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
