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
// never a panic; a record that decodes encodes to bytes that decode to the
// same record, and its payload can be rebuilt.
func FuzzDecodeRecord(f *testing.F) {
	bodies := append(packSeeds(f), []byte(`{"device":"d","state":"ok"}`))
	for i, body := range bodies {
		r := record{class: ClassEvent, typ: wire.TypeEvent, boot: uint64(i), time: t0.UnixNano(), body: body}
		if i%2 == 1 {
			r.class, r.typ, r.time = ClassTelemetry, wire.TypeMetrics, -1
		}
		f.Add(r.encode())
	}
	f.Add([]byte{1, 1, 1})
	f.Add([]byte{2, 0x12, 0, 0, '{', packLong, 200, '}'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := decodeRecord(r.encode())
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if again.class != r.class || again.typ != r.typ || again.boot != r.boot || again.time != r.time || !bytes.Equal(again.body, r.body) {
			t.Fatalf("record %+v reads back as %+v", r, again)
		}
		h := headerTemplates{id: testID}
		if _, err := h.payload("b", 1, &r); err != nil {
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
