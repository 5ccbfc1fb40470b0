package usbinv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Sysfs lists USB devices from a Linux sysfs tree, passively: nothing is
// sent to any device. Root is "/sys" on a live system and a fixture tree in
// tests (as node_exporter's --path.sysfs).
type Sysfs struct {
	Root string
}

func init() {
	registerBackend("sysfs", func(root string) Lister { return Sysfs{Root: root} })
}

// maxDescriptor bounds a report descriptor read (the kernel's limit is 4 KiB).
const maxDescriptor = 4096

// List reads <root>/bus/usb/devices. A tree without a USB bus (a machine or
// container without USB) lists nothing; a root that does not exist is an
// error.
func (s Sysfs) List(ctx context.Context) ([]Device, error) {
	root := s.Root
	if root == "" {
		root = "/sys"
	}
	if _, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("usb sysfs root: %w", err)
	}
	dir := filepath.Join(root, "bus", "usb", "devices")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("usb sysfs: %w", err)
	}
	var out []Device
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := e.Name()
		if strings.Contains(name, ":") {
			continue // an interface, read with its device
		}
		d, ok, err := readDevice(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("usb sysfs %s: %w", name, err)
		}
		if ok {
			d.Path = name
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// readDevice reads one device directory; ok is false when it is not a
// device (no idVendor).
func readDevice(dir string) (Device, bool, error) {
	var d Device
	vid, err := readHexAttr(dir, "idVendor", 16)
	if errors.Is(err, fs.ErrNotExist) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	pid, err := readHexAttr(dir, "idProduct", 16)
	if err != nil {
		return d, false, err
	}
	d.VID, d.PID = uint16(vid), uint16(pid)
	if c, err := readHexAttr(dir, "bDeviceClass", 8); err == nil {
		d.Class = uint8(c)
	}
	d.Serial = readStringAttr(dir, "serial")
	d.Manufacturer = readStringAttr(dir, "manufacturer")
	d.Product = readStringAttr(dir, "product")
	subs, err := os.ReadDir(dir)
	if err != nil {
		return d, false, err
	}
	for _, e := range subs {
		sub := filepath.Join(dir, e.Name())
		if !isDir(sub) {
			continue
		}
		n, err := readHexAttr(sub, "bInterfaceNumber", 8)
		if err != nil {
			continue // not an interface (power/, ep_00/, …)
		}
		in := Interface{Number: uint8(n)}
		for _, f := range []struct {
			name string
			dst  *uint8
		}{{"bInterfaceClass", &in.Class}, {"bInterfaceSubClass", &in.SubClass}, {"bInterfaceProtocol", &in.Protocol}} {
			if v, err := readHexAttr(sub, f.name, 8); err == nil {
				*f.dst = uint8(v)
			}
		}
		if link, err := os.Readlink(filepath.Join(sub, "driver")); err == nil {
			in.Driver = filepath.Base(link)
		}
		in.TTYs, in.Printers, in.Usages, err = readInterfaceChildren(sub)
		if err != nil {
			return d, false, err
		}
		d.Interfaces = append(d.Interfaces, in)
	}
	sort.Slice(d.Interfaces, func(i, j int) bool { return d.Interfaces[i].Number < d.Interfaces[j].Number })
	return d, true, nil
}

// readInterfaceChildren finds what the kernel made of an interface: tty
// nodes (cdc_acm puts them under tty/, usb-serial drivers under ttyUSBn/)
// printer-class nodes (usblp puts them under usbmisc/lpN, /dev/usb/lpN) and
// HID devices (0003:VVVV:PPPP.NNNN/ with a report_descriptor).
func readInterfaceChildren(dir string) (ttys, printers []string, usages []Usage, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, e := range entries {
		name := e.Name()
		sub := filepath.Join(dir, name)
		switch {
		case name == "tty":
			nodes, _ := os.ReadDir(sub)
			for _, n := range nodes {
				ttys = append(ttys, "/dev/"+n.Name())
			}
		case strings.HasPrefix(name, "tty") && isDir(sub):
			ttys = append(ttys, "/dev/"+name)
		case name == "usbmisc":
			nodes, _ := os.ReadDir(sub)
			for _, n := range nodes {
				if strings.HasPrefix(n.Name(), "lp") {
					printers = append(printers, "/dev/usb/"+n.Name())
				}
			}
		default:
			desc, err := os.ReadFile(filepath.Join(sub, "report_descriptor"))
			if err != nil {
				continue
			}
			if len(desc) > maxDescriptor {
				desc = desc[:maxDescriptor]
			}
			rd, err := ParseReportDescriptor(desc)
			if err != nil {
				// A descriptor we cannot read says nothing about the
				// mode; the device is still listed.
				continue
			}
			usages = append(usages, rd.Applications...)
		}
	}
	sort.Strings(ttys)
	sort.Strings(printers)
	return ttys, printers, usages, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func readStringAttr(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func readHexAttr(dir, name string, bits int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, err
	}
	v, err := ParseHexAttr(string(b), bits)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// ParseHexAttr reads a sysfs hex attribute such as idVendor ("05e0\n") or
// bInterfaceClass ("03\n"): hex digits, surrounding white space allowed, at
// most bits wide.
func ParseHexAttr(s string, bits int) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "" || len(t) > bits/4 {
		return 0, fmt.Errorf("%q is not a %d-bit hex value", s, bits)
	}
	v, err := strconv.ParseUint(t, 16, bits)
	if err != nil {
		return 0, fmt.Errorf("%q is not a %d-bit hex value", s, bits)
	}
	return v, nil
}

func parseHex16(s string) (uint16, error) {
	if len(s) != 4 {
		return 0, fmt.Errorf("%q: want four hex digits", s)
	}
	v, err := ParseHexAttr(s, 16)
	return uint16(v), err
}
