package usbinv

import (
	"errors"
	"fmt"
)

// Usage is a HID usage: page and id.
type Usage struct {
	Page, ID uint16
}

func (u Usage) String() string { return fmt.Sprintf("%04x:%04x", u.Page, u.ID) }

// HID usage pages and usages that tell a device's role.
const (
	PageGenericDesktop = 0x01
	UsageMouse         = 0x02
	UsageKeyboard      = 0x06
	PageBarcodeScanner = 0x8C // HID POS bar code scanner
	PageScale          = 0x8D // HID POS scale
	PageVendorFirst    = 0xFF00
)

// ReportDescriptor is what the parser keeps of a HID report descriptor.
type ReportDescriptor struct {
	// Applications are the usages of the top-level application
	// collections, which say what the device is (keyboard, bar code
	// scanner, …).
	Applications []Usage
}

// Limits that keep a hostile descriptor cheap.
const (
	maxDepth     = 32
	maxApps      = 64
	maxPushDepth = 16
)

// ParseReportDescriptor reads the items of a HID report descriptor (HID 1.11
// section 6.2.2) far enough to find the top-level application collections.
func ParseReportDescriptor(b []byte) (ReportDescriptor, error) {
	var (
		rd       ReportDescriptor
		page     uint16   // global Usage Page
		stack    []uint16 // Push/Pop of the usage page
		locals   []Usage  // Usage items since the last main item
		depth    int
		position int
	)
	for position < len(b) {
		prefix := b[position]
		if prefix == 0xFE { // long item: FE size tag data
			if position+3 > len(b) {
				return rd, errors.New("hid: long item cut short")
			}
			position += 3 + int(b[position+1])
			if position > len(b) {
				return rd, errors.New("hid: long item cut short")
			}
			continue
		}
		size := int(prefix & 0x03)
		if size == 3 {
			size = 4
		}
		if position+1+size > len(b) {
			return rd, fmt.Errorf("hid: item %02X at %d cut short", prefix, position)
		}
		var data uint32
		for i := 0; i < size; i++ {
			data |= uint32(b[position+1+i]) << (8 * i)
		}
		position += 1 + size
		typ, tag := (prefix>>2)&0x03, prefix>>4
		switch typ {
		case 0: // main
			switch tag {
			case 0x0A: // Collection
				if depth == 0 && data&0xFF == 0x01 && len(locals) > 0 && len(rd.Applications) < maxApps {
					rd.Applications = append(rd.Applications, locals[0])
				}
				if depth++; depth > maxDepth {
					return rd, errors.New("hid: collections nested too deep")
				}
			case 0x0C: // End Collection
				if depth == 0 {
					return rd, fmt.Errorf("hid: End Collection at %d without a collection", position-1)
				}
				depth--
			}
			locals = locals[:0]
		case 1: // global
			switch tag {
			case 0x00:
				page = uint16(data)
			case 0x0A: // Push
				if len(stack) >= maxPushDepth {
					return rd, errors.New("hid: Push nested too deep")
				}
				stack = append(stack, page)
			case 0x0B: // Pop
				if len(stack) == 0 {
					return rd, errors.New("hid: Pop without Push")
				}
				page, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
		case 2: // local
			if tag == 0x00 && len(locals) < 256 {
				// A four-byte usage carries its own page; a shorter one
				// takes the current Usage Page.
				u := Usage{Page: page, ID: uint16(data)}
				if size == 4 {
					u.Page = uint16(data >> 16)
				}
				locals = append(locals, u)
			}
		default:
			return rd, fmt.Errorf("hid: reserved item type in %02X at %d", prefix, position-1-size)
		}
	}
	return rd, nil
}
