package uplink

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Records read back from disk: any bytes decode to a record or an error,
// never a panic, and a record that decodes encodes back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range []record{
		{class: ClassEvent, typ: wire.TypeEvent, boot: 1, time: time.Now().UnixNano(), body: []byte(`{"device":"d","state":"ok"}`)},
		{class: ClassTelemetry, typ: wire.TypeMetrics, boot: 300, time: -1, body: []byte(`{}`)},
	} {
		f.Add(r.encode())
	}
	f.Add([]byte{1, 1, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		if got := r.encode(); !bytes.Equal(got, b) {
			// Varints have one canonical form when written; other forms may
			// decode, but then the record must still be usable.
			if _, err := decodeRecord(got); err != nil {
				t.Fatalf("re-encoded record does not decode: %v", err)
			}
		}
		h := wire.Header{V: wire.Version, Type: r.typ, AgentID: testID, Boot: "b", Seq: 1, Time: time.Unix(0, r.time).UTC()}
		if _, err := joinBody(&h, r.body); err != nil {
			t.Fatal(err)
		}
	})
}

// The command request path: whatever arrives on cmd/req, the agent either
// ignores it or answers with a response that is valid on the wire.
func FuzzCommandRequest(f *testing.F) {
	valid := wire.CommandRequest{Header: wire.Header{AgentID: testID, Time: time.Now()}, ID: "q1", Device: "receipt-lane3", Op: "status", Requester: "alice", Expires: time.Now().Add(time.Hour)}
	b, _ := wire.Encode(&valid)
	f.Add(b)
	f.Add([]byte(`{"v":1,"type":"cmd_req"}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`null`))
	u := &Uplink{opt: Options{CommandTimeout: time.Second}, id: testID, boot: "b", log: slog.New(slog.DiscardHandler)}
	u.SetCommandHandler(CommandHandlerFunc(func(ctx context.Context, req *wire.CommandRequest) *wire.CommandResponse {
		return &wire.CommandResponse{OK: req.Op == "status"}
	}))
	f.Fuzz(func(t *testing.T, payload []byte) {
		res := u.runCommand(context.Background(), payload)
		if res == nil {
			return
		}
		res.Header = wire.Header{AgentID: testID, Boot: "b", Time: time.Now()}
		if _, err := wire.Encode(res); err != nil {
			t.Fatalf("answer to %q is not valid: %v", payload, err)
		}
	})
}
