package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// storehub's JSON log lines carry each key once: a part's logger that adds
// its "part" again writes "part":"mqtt","part":"mqtt", which log shippers
// reject or collapse unpredictably.
func TestJSONLogHasNoDuplicateKeys(t *testing.T) {
	var buf testenv.Buffer
	hash, err := broker.HashPassword("pw-42", 1000)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig("hub.yaml", []byte(fmt.Sprintf(`
data_dir: %s
api: {listen: "127.0.0.1:0", tokens: [{name: jane, role: admin, token: %s}]}
broker: {mode: embedded, embedded: {listen: "127.0.0.1:0"}}
agents: [{tenant: acme, store: s0042, agent: backoffice, password_hash: "%s"}]
`, t.TempDir(), token, hash)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h, err := Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	parts := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		keys, err := topKeys(line)
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("key %q twice: %s", k, line)
			}
			seen[k] = true
		}
		var v struct{ Part string }
		_ = json.Unmarshal([]byte(line), &v)
		parts[v.Part] = true
	}
	if !parts["mqtt"] {
		t.Errorf("no line of the embedded broker (part mqtt) to check; parts: %v", parts)
	}
}

// topKeys lists the keys of a JSON object's top level, in order, with
// repeats.
func topKeys(line string) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(line)))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return nil, err
	}
	return keys, nil
}
