package query

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/storewatch/storewatch/wire"
)

// MaxRawBytes bounds the bytes a raw query sends (the agent's own limit).
const MaxRawBytes = 256

// Body is the JSON body of POST /api/v1/stores/{store}/devices/{device}/query.
type Body struct {
	Op   string            `json:"op"`
	Args map[string]string `json:"args,omitempty"`
}

// ParseBody reads a query body strictly: unknown fields, trailing data and
// unknown operations are errors. An empty body asks for the status.
func ParseBody(b []byte) (Body, error) {
	var q Body
	if len(bytes.TrimSpace(b)) == 0 {
		return Body{Op: wire.OpStatus}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return q, fmt.Errorf("body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return q, errors.New("body: trailing data after the JSON object")
	}
	if q.Op == "" {
		q.Op = wire.OpStatus
	}
	return q, CheckRequest(q.Op, q.Args)
}

// CheckRequest checks an operation and its arguments: status, identify,
// counters and operations take none; raw takes hex, 1 to MaxRawBytes bytes.
func CheckRequest(op string, args map[string]string) error {
	if !slices.Contains(Ops, op) {
		return fmt.Errorf("op: %q is not one of %s", op, strings.Join(Ops, ", "))
	}
	if op != wire.OpRaw {
		if len(args) > 0 {
			return fmt.Errorf("args: %s takes no arguments", op)
		}
		return nil
	}
	for k := range args {
		if k != "hex" {
			return fmt.Errorf("args: raw takes only hex, not %q", k)
		}
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(args["hex"], " ", ""))
	if err != nil || len(raw) == 0 || len(raw) > MaxRawBytes {
		return fmt.Errorf("args.hex: want 1 to %d bytes as hex, e.g. \"10 04 01\"", MaxRawBytes)
	}
	return nil
}
