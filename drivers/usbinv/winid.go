package usbinv

import (
	"strconv"
	"strings"
)

// winNode is one device node as SetupAPI reports it.
type winNode struct {
	InstanceID   string   // USB\VID_05E0&PID_1200\S123
	Manufacturer string   // SPDRP_MFG
	Description  string   // SPDRP_DEVICEDESC
	HardwareIDs  []string // SPDRP_HARDWAREID
	CompatIDs    []string // SPDRP_COMPATIBLEIDS
	Service      string   // SPDRP_SERVICE: the driver
}

// winID is what an instance id says.
type winID struct {
	Bus       string // USB, HID
	VID, PID  uint16
	Interface int    // MI_xx, or -1
	Instance  string // the last segment: the serial number, or a synthetic id
}

// parseInstanceID reads USB\VID_05E0&PID_1200\S123,
// USB\VID_05E0&PID_1200&MI_00\6&2A3B4C&0&0000 and HID\VID_..&PID_..&MI_00\7&...
func parseInstanceID(s string) (winID, bool) {
	parts := strings.Split(s, `\`)
	if len(parts) != 3 {
		return winID{}, false
	}
	id := winID{Bus: strings.ToUpper(parts[0]), Interface: -1, Instance: parts[2]}
	seen := 0
	for _, f := range strings.Split(parts[1], "&") {
		k, v, ok := strings.Cut(strings.ToUpper(f), "_")
		if !ok {
			continue
		}
		switch k {
		case "VID":
			n, err := parseHex16(v)
			if err != nil {
				return winID{}, false
			}
			id.VID, seen = n, seen+1
		case "PID":
			n, err := parseHex16(v)
			if err != nil {
				return winID{}, false
			}
			id.PID, seen = n, seen+1
		case "MI":
			n, err := strconv.ParseUint(v, 16, 8)
			if err != nil {
				return winID{}, false
			}
			id.Interface = int(n)
		}
	}
	return id, seen == 2
}

// serial returns the USB serial number an instance id carries: Windows
// invents ids with '&' for devices without one.
func (w winID) serial() string {
	if strings.Contains(w.Instance, "&") {
		return ""
	}
	return w.Instance
}

// classFromIDs reads USB\Class_03&SubClass_01&Prot_01 from compatible ids.
func classFromIDs(ids []string) (class, sub, proto uint8, ok bool) {
	for _, s := range ids {
		u := strings.ToUpper(s)
		rest, found := strings.CutPrefix(u, `USB\CLASS_`)
		if !found {
			continue
		}
		fields := strings.Split(rest, "&")
		vals := []*uint8{&class, &sub, &proto}
		for i, f := range fields {
			if i > 0 {
				_, f, _ = strings.Cut(f, "_")
			}
			if i >= len(vals) {
				break
			}
			n, err := strconv.ParseUint(f, 16, 8)
			if err != nil {
				return 0, 0, 0, false
			}
			*vals[i] = uint8(n)
		}
		return class, sub, proto, true
	}
	return 0, 0, 0, false
}

// usageFromIDs reads HID_DEVICE_UP:008C_U:0002 from HID hardware ids.
func usageFromIDs(ids []string) (Usage, bool) {
	for _, s := range ids {
		rest, ok := strings.CutPrefix(strings.ToUpper(s), "HID_DEVICE_UP:")
		if !ok {
			continue
		}
		page, id, ok := strings.Cut(rest, "_U:")
		p, err1 := strconv.ParseUint(page, 16, 16)
		u, err2 := strconv.ParseUint(id, 16, 16)
		if ok && err1 == nil && err2 == nil {
			return Usage{Page: uint16(p), ID: uint16(u)}, true
		}
	}
	return Usage{}, false
}

// assembleWindows turns USB and HID device nodes into devices: a node
// without MI_ is a device, an MI_xx node one of its interfaces, and a HID
// node gives the usage of the interface it sits on.
func assembleWindows(usb, hid []winNode) []Device {
	var devs []Device
	type ifaceNode struct {
		id   winID
		node winNode
	}
	var ifaces []ifaceNode
	for _, n := range usb {
		id, ok := parseInstanceID(n.InstanceID)
		if !ok || id.Bus != "USB" {
			continue
		}
		if id.Interface >= 0 {
			ifaces = append(ifaces, ifaceNode{id, n})
			continue
		}
		d := Device{Path: n.InstanceID, VID: id.VID, PID: id.PID, Serial: id.serial(), Manufacturer: n.Manufacturer, Product: n.Description}
		if c, s, p, ok := classFromIDs(n.CompatIDs); ok && c != 0 {
			// A single-interface device: its class ids are the interface's.
			d.Interfaces = []Interface{{Number: 0, Class: c, SubClass: s, Protocol: p, Driver: n.Service}}
		}
		devs = append(devs, d)
	}
	owner := func(vid, pid uint16) *Device {
		for i := range devs {
			if devs[i].VID == vid && devs[i].PID == pid {
				return &devs[i]
			}
		}
		return nil
	}
	for _, in := range ifaces {
		d := owner(in.id.VID, in.id.PID)
		if d == nil {
			continue
		}
		c, s, p, _ := classFromIDs(in.node.CompatIDs)
		d.Interfaces = append(d.Interfaces, Interface{Number: uint8(in.id.Interface), Class: c, SubClass: s, Protocol: p, Driver: in.node.Service})
	}
	for _, n := range hid {
		id, ok := parseInstanceID(n.InstanceID)
		if !ok {
			continue
		}
		u, ok := usageFromIDs(n.HardwareIDs)
		d := owner(id.VID, id.PID)
		if !ok || d == nil {
			continue
		}
		num := max(id.Interface, 0)
		placed := false
		for i := range d.Interfaces {
			if int(d.Interfaces[i].Number) == num {
				d.Interfaces[i].Usages = append(d.Interfaces[i].Usages, u)
				placed = true
			}
		}
		if !placed {
			d.Interfaces = append(d.Interfaces, Interface{Number: uint8(num), Class: ClassHID, Usages: []Usage{u}})
		}
	}
	return devs
}
