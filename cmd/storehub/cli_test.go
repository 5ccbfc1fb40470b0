package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// The command line's words and tables, byte for byte: the usage, unknown
// commands, each command's flags, and the client commands' tables and JSON
// from a canned API. testdata/cli.golden is the record; go test -update
// rewrites it.
func TestCommandLineGolden(t *testing.T) {
	time.Local = time.UTC // the tables print local times
	opened := time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)
	api := map[string]any{
		"/api/v1/incidents": []incident.Incident{
			{ID: "INC-000001", Priority: 2, State: incident.StateOpen, Tenant: "acme", Store: "s0042", Device: "prn1", Fault: wire.FaultPaperOut,
				Kind: incident.KindFault, OpenedAt: opened, Facts: incident.Facts{Model: "TM-T88VI", Serial: "X5E1", Severity: wire.SeverityError, TimeZone: "Europe/Berlin"}},
			{ID: "INC-000002", Priority: 3, State: incident.StateResolved, Tenant: "acme", Store: "s0043", Fault: wire.FaultAgentOffline,
				Kind: incident.KindAgentOffline, Flapping: true, OpenedAt: opened.Add(time.Hour), Facts: incident.Facts{Severity: wire.SeverityCritical}},
		},
		"/api/v1/devices": []incident.DeviceRecord{
			{Tenant: "acme", Store: "s0042", ID: "prn1", Kind: "receipt_printer", Location: "lane 1", State: wire.StateFault,
				Faults: []wire.Fault{wire.NewFault(wire.FaultPaperOut, "paper end"), wire.NewFault(wire.FaultCoverOpen, "")}, Identity: wire.Identity{Model: "TM-T88VI", Serial: "X5E1"}},
		},
		"/api/v1/stores": []incident.StoreRecord{
			{Tenant: "acme", Store: "s0042", Agents: []string{"backoffice-1", "backoffice-2"}, Info: wire.StoreInfo{Name: "Berlin Mitte", TimeZone: "Europe/Berlin", Address: "Alexanderplatz 1"}},
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := api[r.URL.Path]
		if !ok || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"unknown token"}`))
			return
		}
		if err := json.NewEncoder(w).Encode(v); err != nil {
			t.Errorf("canned %s: %v", r.URL.Path, err)
		}
	}))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // nothing listens there now: "no hub running"
	t.Setenv("STOREHUB_API", "http://127.0.0.1:8080")
	t.Setenv("STOREHUB_TOKEN", "")
	cfg := filepath.Join(t.TempDir(), "hub.yaml")
	os.WriteFile(cfg, []byte("data_dir: /var/lib/storehub\nagents: [{tenant: acme, store: s1, agent: a1, password_hash: $7$1$AA==$AA==}]\n"), 0o600)

	var b strings.Builder
	for _, args := range [][]string{
		{}, {"help"}, {"-h"}, {"--help"}, {"frobnicate"},
		{"serve", "-h"}, {"config"}, {"config", "check", "-h"}, {"config", "check", cfg},
		{"incidents", "-h"}, {"devices", "-h"}, {"stores", "-h"}, {"query", "-h"}, {"query", "s0042"},
		{"acl", "-h"}, {"passwd", "-h"}, {"keys", "-h"}, {"install", "-h"}, {"status", "--frob"},
		{"incidents", "--api", srv.URL, "--token", "tok"},
		{"devices", "--api", srv.URL, "--token", "tok"},
		{"stores", "--api", srv.URL, "--token", "tok"},
		{"stores", "--api", srv.URL, "--token", "wrong"},
		{"stores", "--api", srv.URL},
		{"incidents", "--hub", deadURL, "--token", "tok"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
		line := strings.ReplaceAll(strings.ReplaceAll(strings.Join(args, " "), srv.URL, "API"), deadURL, "NOHUB")
		line = strings.ReplaceAll(line, cfg, "HUB.yaml")
		fmt.Fprintf(&b, "$ storehub %s\nexit %d\n--- stdout\n%s--- stderr\n%s\n", line, code,
			strings.ReplaceAll(strings.ReplaceAll(out.String(), srv.URL, "API"), cfg, "HUB.yaml"),
			strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(errb.String(), srv.URL, "API"), cfg, "HUB.yaml"), deadURL, "NOHUB"))
	}
	testenv.Golden(t, "testdata/cli.golden", []byte(b.String()), *updateGolden)
}
