package cups

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// IPP/1.1 and 2.0 message encoding (RFC 8010, section 3): a version, an
// operation id or status code, a request id, attribute groups each opened
// by a delimiter tag, and an end tag. An attribute is a value tag, a
// two-byte name length and name, a two-byte value length and value; a
// further value of the same attribute repeats the value tag with an empty
// name.

// Delimiter tags.
const (
	tagOperation   = 0x01
	tagJob         = 0x02
	tagEnd         = 0x03
	tagPrinter     = 0x04
	tagUnsupported = 0x05
)

// Value tags used here (others are kept as raw bytes).
const (
	TagUnsupported = 0x10
	TagUnknown     = 0x12
	TagNoValue     = 0x13
	TagInteger     = 0x21
	TagBoolean     = 0x22
	TagEnum        = 0x23
	TagOctetString = 0x30
	TagDateTime    = 0x31
	TagResolution  = 0x32
	TagRange       = 0x33
	TagBegCollect  = 0x34
	TagTextLang    = 0x35
	TagNameLang    = 0x36
	TagEndCollect  = 0x37
	TagText        = 0x41
	TagName        = 0x42
	TagKeyword     = 0x44
	TagURI         = 0x45
	TagURIScheme   = 0x46
	TagCharset     = 0x47
	TagLanguage    = 0x48
	TagMimeType    = 0x49
	TagMemberName  = 0x4A
	tagExtension   = 0x7F
)

// Operations.
const (
	OpGetJobs              = 0x000A
	OpGetPrinterAttributes = 0x000B
)

// ErrIPP marks bytes that are not a well-formed IPP message.
var ErrIPP = errors.New("malformed IPP message")

// Value is one value of an attribute.
type Value struct {
	Tag  byte
	Int  int       // integer, enum, boolean (0/1)
	Text string    // text, name, keyword, uri, charset, language, MIME type
	Time time.Time // dateTime
	Raw  []byte    // the value as sent, for every tag not encoded from Int or Text
}

// Attribute is a named attribute with its values.
type Attribute struct {
	Name   string
	Values []Value
}

// Group is one attribute group (operation, job, printer, ...).
type Group struct {
	Tag   byte
	Attrs []Attribute
}

// Message is an IPP request or response.
type Message struct {
	Version   [2]byte
	Code      uint16 // operation id (request) or status code (response)
	RequestID uint32
	Groups    []Group
}

// Get returns the first attribute of that name in groups with tag, or nil.
func (m *Message) Get(tag byte, name string) *Attribute {
	for gi := range m.Groups {
		g := &m.Groups[gi]
		if g.Tag != tag {
			continue
		}
		for ai := range g.Attrs {
			if g.Attrs[ai].Name == name {
				return &g.Attrs[ai]
			}
		}
	}
	return nil
}

// Encode writes the message.
func (m *Message) Encode() ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, m.Version[0], m.Version[1])
	b = binary.BigEndian.AppendUint16(b, m.Code)
	b = binary.BigEndian.AppendUint32(b, m.RequestID)
	for _, g := range m.Groups {
		b = append(b, g.Tag)
		for _, a := range g.Attrs {
			for i, v := range a.Values {
				name := a.Name
				if i > 0 {
					name = ""
				}
				if len(name) > 0xFFFF {
					return nil, fmt.Errorf("ipp: attribute name of %d bytes", len(name))
				}
				val, err := encodeValue(v)
				if err != nil {
					return nil, fmt.Errorf("ipp: %s: %w", a.Name, err)
				}
				b = append(b, v.Tag)
				b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
				b = append(b, name...)
				b = binary.BigEndian.AppendUint16(b, uint16(len(val)))
				b = append(b, val...)
			}
		}
	}
	return append(b, tagEnd), nil
}

func encodeValue(v Value) ([]byte, error) {
	var out []byte
	switch v.Tag {
	case TagInteger, TagEnum:
		out = binary.BigEndian.AppendUint32(nil, uint32(int32(v.Int)))
	case TagBoolean:
		out = []byte{0}
		if v.Int != 0 {
			out[0] = 1
		}
	case TagText, TagName, TagKeyword, TagURI, TagURIScheme, TagCharset, TagLanguage, TagMimeType, TagMemberName:
		out = []byte(v.Text)
	default:
		out = v.Raw
	}
	if len(out) > 0xFFFF {
		return nil, fmt.Errorf("value of %d bytes", len(out))
	}
	return out, nil
}

// Decode parses a message. It never reads past the input, never allocates
// more than the input's size in values, and says where bad bytes are.
func Decode(b []byte) (*Message, error) {
	if len(b) < 9 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a header and end tag", ErrIPP, len(b))
	}
	m := &Message{Version: [2]byte{b[0], b[1]}, Code: binary.BigEndian.Uint16(b[2:4]), RequestID: binary.BigEndian.Uint32(b[4:8])}
	if m.Version[0] < 1 || m.Version[0] > 2 {
		return nil, fmt.Errorf("%w: version %d.%d", ErrIPP, m.Version[0], m.Version[1])
	}
	p := 8
	var g *Group
	for {
		if p >= len(b) {
			return nil, fmt.Errorf("%w: no end tag", ErrIPP)
		}
		tag := b[p]
		if tag == tagEnd {
			return m, nil // data after the end tag is a document, not ours
		}
		if tag < 0x10 { // a delimiter: a new group
			m.Groups = append(m.Groups, Group{Tag: tag})
			g = &m.Groups[len(m.Groups)-1]
			p++
			continue
		}
		if g == nil {
			return nil, fmt.Errorf("%w: attribute before any group at byte %d", ErrIPP, p)
		}
		if tag == tagExtension {
			return nil, fmt.Errorf("%w: extension tag at byte %d", ErrIPP, p)
		}
		if p+3 > len(b) {
			return nil, fmt.Errorf("%w: attribute cut off at byte %d", ErrIPP, p)
		}
		nl := int(binary.BigEndian.Uint16(b[p+1 : p+3]))
		q := p + 3
		if q+nl+2 > len(b) {
			return nil, fmt.Errorf("%w: name of %d bytes cut off at byte %d", ErrIPP, nl, p)
		}
		name := string(b[q : q+nl])
		q += nl
		vl := int(binary.BigEndian.Uint16(b[q : q+2]))
		q += 2
		if q+vl > len(b) {
			return nil, fmt.Errorf("%w: value of %d bytes cut off at byte %d", ErrIPP, vl, p)
		}
		v, err := decodeValue(tag, b[q:q+vl])
		if err != nil {
			return nil, fmt.Errorf("%w: %q at byte %d: %v", ErrIPP, name, p, err)
		}
		switch {
		case nl > 0:
			g.Attrs = append(g.Attrs, Attribute{Name: name, Values: []Value{v}})
		case len(g.Attrs) == 0:
			return nil, fmt.Errorf("%w: additional value without an attribute at byte %d", ErrIPP, p)
		default:
			last := &g.Attrs[len(g.Attrs)-1]
			last.Values = append(last.Values, v)
		}
		p = q + vl
	}
}

func decodeValue(tag byte, v []byte) (Value, error) {
	out := Value{Tag: tag}
	switch tag {
	case TagInteger, TagEnum:
		if len(v) != 4 {
			return out, fmt.Errorf("integer of %d bytes", len(v))
		}
		out.Int = int(int32(binary.BigEndian.Uint32(v)))
	case TagBoolean:
		if len(v) != 1 || v[0] > 1 {
			return out, fmt.Errorf("boolean % x", v)
		}
		out.Int = int(v[0])
	case TagDateTime:
		t, err := dateTime(v)
		if err != nil {
			return out, err
		}
		out.Time, out.Raw = t, append([]byte(nil), v...)
	case TagText, TagName, TagKeyword, TagURI, TagURIScheme, TagCharset, TagLanguage, TagMimeType, TagMemberName:
		out.Text = string(v)
	case TagTextLang, TagNameLang:
		// language length, language, text length, text
		if len(v) < 4 {
			return out, fmt.Errorf("text with language of %d bytes", len(v))
		}
		ll := int(binary.BigEndian.Uint16(v))
		if 2+ll+2 > len(v) {
			return out, fmt.Errorf("language of %d bytes cut off", ll)
		}
		tl := int(binary.BigEndian.Uint16(v[2+ll:]))
		if 2+ll+2+tl != len(v) {
			return out, fmt.Errorf("text of %d bytes does not fill the value", tl)
		}
		out.Text, out.Raw = string(v[4+ll:]), append([]byte(nil), v...)
	default:
		out.Raw = append([]byte(nil), v...)
	}
	return out, nil
}

// dateTime reads RFC 2579 DateAndTime: year(2) month day hour min sec
// deci-sec direction('+'/'-') hours minutes from UTC.
func dateTime(v []byte) (time.Time, error) {
	if len(v) != 11 {
		return time.Time{}, fmt.Errorf("dateTime of %d bytes", len(v))
	}
	if v[8] != '+' && v[8] != '-' || v[2] < 1 || v[2] > 12 || v[3] < 1 || v[3] > 31 || v[4] > 23 || v[5] > 59 || v[6] > 60 || v[7] > 9 || v[9] > 14 || v[10] > 59 {
		return time.Time{}, fmt.Errorf("dateTime % x", v)
	}
	off := (int(v[9])*60 + int(v[10])) * 60
	if v[8] == '-' {
		off = -off
	}
	return time.Date(int(binary.BigEndian.Uint16(v)), time.Month(v[2]), int(v[3]), int(v[4]), int(v[5]), int(v[6]), int(v[7])*100e6,
		time.FixedZone("", off)).UTC(), nil
}

// Texts returns an attribute's values as strings.
func (a *Attribute) Texts() []string {
	if a == nil {
		return nil
	}
	out := make([]string, len(a.Values))
	for i, v := range a.Values {
		out[i] = v.Text
	}
	return out
}

// Ints returns an attribute's integer values.
func (a *Attribute) Ints() []int {
	if a == nil {
		return nil
	}
	out := make([]int, len(a.Values))
	for i, v := range a.Values {
		out[i] = v.Int
	}
	return out
}

// Text returns the first value as a string, or "".
func (a *Attribute) Text() string {
	if a == nil || len(a.Values) == 0 {
		return ""
	}
	return a.Values[0].Text
}

// Int returns the first value as an integer, or def.
func (a *Attribute) Int(def int) int {
	if a == nil || len(a.Values) == 0 {
		return def
	}
	return a.Values[0].Int
}

// JobGroups returns the job groups of a Get-Jobs response.
func (m *Message) JobGroups() []Group {
	var out []Group
	for _, g := range m.Groups {
		if g.Tag == tagJob {
			out = append(out, g)
		}
	}
	return out
}

// Get returns the group's first attribute of that name, or nil.
func (g Group) Get(name string) *Attribute {
	for i := range g.Attrs {
		if g.Attrs[i].Name == name {
			return &g.Attrs[i]
		}
	}
	return nil
}
