package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/hub/query"
)

func TestQueryPrintsTheAnswer(t *testing.T) {
	var asked []string
	answers := map[string]query.Answer{
		"status": {Store: "s0042", Agent: "backoffice-1", Device: "receipt-1", Op: "status", OK: true, RoundTripMS: 38, DeviceMS: 11,
			Result: json.RawMessage(`{"state":"fault","faults":[{"code":"paper_out","severity":"error","remedy":"store"}],"identity":{"vendor":"EPSON","model":"TM-T88V"},"took_ms":11}`)},
		"identify": {Store: "s0042", Device: "receipt-1", Op: "identify", Code: query.CodeOffline, Error: "agent backoffice-1 of store s0042 offline since 10:42 (Europe/Berlin)"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body query.Body
		_ = json.Unmarshal(b, &body)
		asked = append(asked, r.Method+" "+r.URL.RequestURI()+" "+body.Op+" "+r.Header.Get("Authorization"))
		a, ok := answers[body.Op]
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"unknown token"}`))
			return
		}
		if !a.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(a)
	}))
	defer srv.Close()

	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"query", "--api", srv.URL, "--token", "tok", "s0042", "receipt-1", "--tenant", "acme"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errb.String())
	}
	want := "s0042/receipt-1 (agent backoffice-1): receipt-1 is fault\n" +
		"  State        fault\n" +
		"  Fault        paper_out (error, remedy: store): the paper or media has run out\n" +
		"  Vendor       EPSON\n" +
		"  Model        TM-T88V\n" +
		"  Answered in  38 ms (the device took 11 ms)\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if asked[0] != "POST /api/v1/stores/s0042/devices/receipt-1/query?tenant=acme status Bearer tok" {
		t.Errorf("asked %q", asked[0])
	}

	errb.Reset()
	code = run(context.Background(), []string{"query", "--api", srv.URL, "s0042", "receipt-1", "identify"}, nil, &out, &errb)
	if code != 1 || errb.String() != "storehub: agent backoffice-1 of store s0042 offline since 10:42 (Europe/Berlin) [agent_offline, HTTP 503]\n" {
		t.Errorf("offline: exit %d: %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"query", "--api", srv.URL, "s0042", "receipt-1", "counters"}, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "HTTP 401: unknown token") {
		t.Errorf("API error: exit %d: %q", code, errb.String())
	}
	for _, args := range [][]string{{"s0042"}, {"s0042", "receipt-1", "raw"}, {"s0042", "receipt-1", "reboot"}} {
		errb.Reset()
		if code := run(context.Background(), append([]string{"query", "--api", srv.URL}, args...), nil, &out, &errb); code != 1 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	if len(asked) != 3 {
		t.Errorf("bad arguments reached the API: %v", asked)
	}
}

func TestKeysPrintsTheAgentsPublicKey(t *testing.T) {
	dir := t.TempDir()
	y := "data_dir: " + dir + "\nagents: [{tenant: acme, store: s1, agent: a1, cert_cn: a1}]\n"
	path := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"keys", "--config", path}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	k, err := query.LoadKey(filepath.Join(dir, "signing_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != k.PublicKey()+"\n" {
		t.Errorf("printed %q, the key file's public key is %q", out.String(), k.PublicKey())
	}
	out.Reset()
	run(context.Background(), []string{"keys", "--config", path}, nil, &out, &errb)
	if out.String() != k.PublicKey()+"\n" {
		t.Error("a second run printed another key")
	}
}
