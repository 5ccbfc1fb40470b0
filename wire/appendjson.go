package wire

import "time"

// The appenders below are the building blocks of append.go, exported for
// the hub's ticket store, which encodes its hot records (devices, event-log
// lines) by hand the same way. Each writes exactly what json.Marshal writes
// for the value, or reports !ok (leaving a partial b the caller must drop)
// for what it does not reproduce byte for byte; the caller then falls back
// to json.Marshal.

// AppendJSONString appends s as json.Marshal writes a string.
func AppendJSONString(b []byte, s string) ([]byte, bool) { return appendString(b, s) }

// AppendJSONTime appends t as time.Time's MarshalJSON does.
func AppendJSONTime(b []byte, t time.Time) ([]byte, bool) { return appendTime(b, t) }

// AppendJSONFloat appends f as json.Marshal writes a float64.
func AppendJSONFloat(b []byte, f float64) ([]byte, bool) { return appendFloat(b, f) }

// AppendJSONFault appends f as json.Marshal writes a Fault.
func AppendJSONFault(b []byte, f *Fault) ([]byte, bool) { return appendFault(b, f) }

// AppendJSONIdentity appends id as json.Marshal writes an Identity.
func AppendJSONIdentity(b []byte, id *Identity) ([]byte, bool) { return appendIdentity(b, id) }

// AppendJSONHolder appends h as json.Marshal writes a Holder.
func AppendJSONHolder(b []byte, h *Holder) ([]byte, bool) { return appendHolder(b, h) }
