package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// MaxPayload bounds a message. A larger payload is rejected before parsing so
// a misbehaving client cannot make the hub allocate without limit.
const MaxPayload = 256 << 10

// Decoding failure kinds; test with errors.Is.
var (
	ErrMalformed          = errors.New("malformed payload")   // not JSON, unknown fields, trailing data, wrong types
	ErrUnsupportedVersion = errors.New("unsupported version") // v is not one this build understands
	ErrWrongType          = errors.New("wrong message type")  // type field does not match what was expected
	ErrInvalid            = errors.New("invalid message")     // well-formed JSON that breaks the contract
	ErrTooLarge           = errors.New("payload too large")
)

// DecodeError says why a payload was rejected.
type DecodeError struct {
	Kind    error       // one of the Err* kinds above
	Type    MessageType // the type that was being decoded
	Version int         // the version found, for ErrUnsupportedVersion
	Field   string      // the offending field, for ErrInvalid
	Err     error       // the underlying cause, if any
}

func (e *DecodeError) Error() string {
	msg := "wire"
	if e.Type != "" {
		msg += " " + string(e.Type)
	}
	msg += ": " + e.Kind.Error()
	if e.Kind == ErrUnsupportedVersion {
		msg += fmt.Sprintf(" %d (this build speaks %d)", e.Version, Version)
	}
	if e.Field != "" {
		msg += ": " + e.Field
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap lets errors.Is match the kind.
func (e *DecodeError) Unwrap() error { return e.Kind }

func (*Status) kind() MessageType          { return TypeStatus }
func (*Inventory) kind() MessageType       { return TypeInventory }
func (*Event) kind() MessageType           { return TypeEvent }
func (*Metrics) kind() MessageType         { return TypeMetrics }
func (*CommandRequest) kind() MessageType  { return TypeCmdReq }
func (*CommandResponse) kind() MessageType { return TypeCmdRes }
func (*DeviceConfig) kind() MessageType    { return TypeConfig }

type typed interface {
	Message
	kind() MessageType
}

// Encode stamps the version and type into m's header and encodes it.
func Encode(m Message) ([]byte, error) {
	return AppendEncode(make([]byte, 0, 512), m)
}

// AppendEncode is Encode appending to dst, so a caller that encodes many
// messages can reuse one buffer. On error it returns dst unchanged.
func AppendEncode(dst []byte, m Message) ([]byte, error) {
	t, ok := m.(typed)
	if !ok {
		return dst, fmt.Errorf("wire: %T is not a message type", m)
	}
	h := m.Head()
	h.V = Version
	h.Type = t.kind()
	if err := m.validate(); err != nil {
		return dst, fmt.Errorf("wire: encode %s: %w", h.Type, err)
	}
	// The agent's hot messages are appended by hand (append.go): the same
	// bytes as json.Marshal, without its reflection and allocations.
	var (
		b    []byte
		done bool
	)
	switch m := m.(type) {
	case *Event:
		b, done = appendEvent(dst, m)
	case *Metrics:
		b, done = appendMetrics(dst, m)
	}
	if done {
		return b, nil
	}
	j, err := json.Marshal(m)
	if err != nil {
		return dst, err
	}
	return append(dst, j...), nil
}

// probe is the part of any payload read before the strict decode, so a
// message of another version is reported as such rather than as garbage.
type probe struct {
	V    *int        `json:"v"`
	Type MessageType `json:"type"`
}

// Decode parses a payload into a message of type T (Status, Event, ...).
// It is strict: unknown fields, trailing data, a version other than Version, a
// type field that does not match T, and payloads that break the contract are
// all errors of type *DecodeError.
func Decode[T any, PT interface {
	*T
	typed
}](data []byte) (*T, error) {
	var m T
	want := PT(&m).kind()
	if err := decodeInto(data, PT(&m), want); err != nil {
		return nil, err
	}
	return &m, nil
}

// DecodeChannel parses a payload that arrived on channel ch into the matching
// message type.
func DecodeChannel(ch Channel, data []byte) (Message, error) {
	m := newMessage(ch)
	if m == nil {
		return nil, &DecodeError{Kind: ErrWrongType, Err: fmt.Errorf("no message type for channel %q", ch)}
	}
	if err := decodeInto(data, m, m.kind()); err != nil {
		return nil, err
	}
	return m, nil
}

// newMessage returns an empty message of the type carried on ch, nil for an
// unknown channel.
func newMessage(ch Channel) typed {
	switch TypeOf(ch) {
	case TypeStatus:
		return &Status{}
	case TypeInventory:
		return &Inventory{}
	case TypeEvent:
		return &Event{}
	case TypeMetrics:
		return &Metrics{}
	case TypeCmdReq:
		return &CommandRequest{}
	case TypeCmdRes:
		return &CommandResponse{}
	case TypeConfig:
		return &DeviceConfig{}
	}
	return nil
}

func decodeInto(data []byte, m typed, want MessageType) error {
	if len(data) > MaxPayload {
		return &DecodeError{Kind: ErrTooLarge, Type: want, Err: fmt.Errorf("%d bytes, limit %d", len(data), MaxPayload)}
	}
	// One strict pass on the happy path; only a payload that fails it is
	// looked at again, to say whether it is of another version or type
	// rather than just malformed. encoding/json's strict decoder reads a
	// payload twice (Decoder.Decode scans the whole value to find its end,
	// then decodes it) and allocates for every field; the decoder of
	// encoding/json/v2's prototype parses once, and is stricter: names match
	// exactly (not case-insensitively), a name given twice, invalid UTF-8
	// and data after the object are errors.
	err := jsonv2.Unmarshal(data, m, jsonv2.RejectUnknownMembers(true))
	if h := m.Head(); err != nil || h.V != Version || h.Type != want {
		return classify(data, want, err)
	}
	if err := m.validate(); err != nil {
		de := &DecodeError{Kind: ErrInvalid, Type: want, Err: err}
		var fe *fieldError
		if errors.As(err, &fe) {
			de.Field, de.Err = fe.field, fe.err
		}
		return de
	}
	return nil
}

// classify explains a payload the strict pass refused (strictErr) or whose
// version or type is not the expected one.
func classify(data []byte, want MessageType, strictErr error) error {
	var p probe
	if err := json.Unmarshal(data, &p); err != nil {
		return &DecodeError{Kind: ErrMalformed, Type: want, Err: err}
	}
	if p.V == nil {
		return &DecodeError{Kind: ErrMalformed, Type: want, Err: errors.New("no version field \"v\"")}
	}
	if *p.V != Version {
		return &DecodeError{Kind: ErrUnsupportedVersion, Type: want, Version: *p.V}
	}
	if p.Type != want {
		return &DecodeError{Kind: ErrWrongType, Type: want, Err: fmt.Errorf("payload says %q", p.Type)}
	}
	return &DecodeError{Kind: ErrMalformed, Type: want, Err: strictErr}
}

type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }

func invalid(field, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf(format, args...)}
}

func (h *Header) validate(needSeq bool) error {
	if err := ValidateSegment(h.Tenant); err != nil {
		return &fieldError{"tenant", err}
	}
	if err := ValidateSegment(h.Store); err != nil {
		return &fieldError{"store", err}
	}
	if err := ValidateSegment(h.Agent); err != nil {
		return &fieldError{"agent", err}
	}
	if h.Time.IsZero() {
		return invalid("time", "missing")
	}
	if needSeq {
		if h.Boot == "" {
			return invalid("boot", "missing")
		}
		if h.Seq == 0 {
			return invalid("seq", "missing (sequence numbers start at 1)")
		}
	}
	return nil
}

func (m *Status) validate() error {
	if err := m.Header.validate(false); err != nil {
		return err
	}
	if m.State != PresenceOnline && m.State != PresenceOffline {
		return invalid("state", "%q is neither %q nor %q", m.State, PresenceOnline, PresenceOffline)
	}
	if m.Boot == "" {
		return invalid("boot", "missing")
	}
	if m.Grace < 0 {
		return invalid("grace_s", "%v is negative", m.Grace)
	}
	return nil
}

func (m *Inventory) validate() error {
	if err := m.Header.validate(false); err != nil {
		return err
	}
	if m.StoreInfo.TimeZone != "" {
		if _, err := time.LoadLocation(m.StoreInfo.TimeZone); err != nil {
			return invalid("store_info.timezone", "%v", err)
		}
	}
	if err := m.StoreInfo.Hours.Validate(); err != nil {
		return &fieldError{"store_info.hours", err}
	}
	seen := map[string]bool{}
	for i, d := range m.Devices {
		f := fmt.Sprintf("devices[%d]", i)
		if err := ValidateSegment(d.ID); err != nil {
			return &fieldError{f + ".id", err}
		}
		if seen[d.ID] {
			return invalid(f+".id", "%q appears twice", d.ID)
		}
		seen[d.ID] = true
		if d.State != "" && !d.State.Valid() {
			return invalid(f+".state", "unknown state %q", d.State)
		}
		if d.Criticality != "" && !d.Criticality.Valid() {
			return invalid(f+".criticality", "unknown criticality %q", d.Criticality)
		}
	}
	if len(m.Found) > MaxFound {
		return invalid("found", "%d entries, limit %d", len(m.Found), MaxFound)
	}
	for i, f := range m.Found {
		if f.Address == "" || len(f.Address) > 512 {
			return invalid(fmt.Sprintf("found[%d].address", i), "missing or longer than 512 bytes")
		}
	}
	return nil
}

func validateFaults(field string, fs []Fault) error {
	for i, f := range fs {
		if !f.Code.Known() {
			return invalid(fmt.Sprintf("%s[%d].code", field, i), "unknown fault code %q", f.Code)
		}
		if _, ok := severityNames[f.Severity]; !ok {
			return invalid(fmt.Sprintf("%s[%d].severity", field, i), "missing or unknown")
		}
		switch f.Remedy {
		case RemedyStore, RemedyRemote, RemedyDispatch:
		default:
			return invalid(fmt.Sprintf("%s[%d].remedy", field, i), "unknown remedy %q", f.Remedy)
		}
	}
	return nil
}

func (m *Event) validate() error {
	if err := m.Header.validate(true); err != nil {
		return err
	}
	if err := ValidateSegment(m.Device); err != nil {
		return &fieldError{"device", err}
	}
	if !m.State.Valid() {
		return invalid("state", "unknown state %q", m.State)
	}
	if m.Previous != "" && !m.Previous.Valid() {
		return invalid("previous", "unknown state %q", m.Previous)
	}
	if err := validateFaults("faults", m.Faults); err != nil {
		return err
	}
	if m.State == StateBusy && len(m.Faults) > 0 {
		return invalid("faults", "a busy device's faults could not be read; a busy event carries none")
	}
	if m.Holder != nil && m.Holder.PID < 0 {
		return invalid("holder.pid", "%d", m.Holder.PID)
	}
	if want := StateOf(m.Faults); m.State != StateUnknown && m.State != StateBusy && m.State != want {
		return invalid("state", "%q does not match its faults (they give %q)", m.State, want)
	}
	if m.Since.IsZero() {
		return invalid("since", "missing")
	}
	return nil
}

func (m *Metrics) validate() error {
	if err := m.Header.validate(true); err != nil {
		return err
	}
	for i, s := range m.Samples {
		if s.Device == "" || s.Name == "" {
			return invalid(fmt.Sprintf("samples[%d]", i), "device and name are required")
		}
	}
	return nil
}

func (m *CommandRequest) validate() error {
	if err := m.Header.validate(false); err != nil {
		return err
	}
	if m.ID == "" {
		return invalid("id", "missing")
	}
	if m.Op == "" {
		return invalid("op", "missing")
	}
	if err := validateCommandDevice(m.Op, m.Device); err != nil {
		return err
	}
	if m.Expires.IsZero() {
		return invalid("expires", "missing")
	}
	return nil
}

// validateCommandDevice: a device operation names a device; an agent-level
// one (OpResend) names none.
func validateCommandDevice(op, device string) error {
	if op == OpResend {
		if device != "" {
			return invalid("device", "%s is an agent-level operation and names no device", op)
		}
		return nil
	}
	if err := ValidateSegment(device); err != nil {
		return &fieldError{"device", err}
	}
	return nil
}

func (m *CommandResponse) validate() error {
	if err := m.Header.validate(false); err != nil {
		return err
	}
	if m.ID == "" {
		return invalid("id", "missing")
	}
	if !m.OK && m.Error == "" {
		return invalid("error", "a failed response must say why")
	}

	if m.Holder != nil && m.Holder.PID < 0 {
		return invalid("holder.pid", "%d", m.Holder.PID)
	}
	return nil
}
