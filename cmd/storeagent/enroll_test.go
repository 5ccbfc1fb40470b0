package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/storewatch/storewatch/agent/enrol"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/wire"
)

// fakeHub answers enrolments with the golden response of the contract,
// for store S0042, and counts them.
func fakeHub(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	golden, err := os.ReadFile("../../wire/testdata/enrol/response.json")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := wire.DecodeEnrolRequest(body)
		switch {
		case r.URL.Path != wire.EnrolPath || err != nil:
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(wire.EnrolRefusal{Error: "bad request", Code: wire.EnrolInvalid})
		case req.Token != "swe_good":
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(wire.EnrolRefusal{Error: "enrolment token x has been used 1 of 1 times; ask for a new one", Code: wire.EnrolUsedUp})
		default:
			n.Add(1)
			w.Write(golden)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestPendingEnrolmentFromTheEnvironmentRunsOnce(t *testing.T) {
	hub, n := fakeHub(t)
	file := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(file, []byte(newConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(enrol.EnvURL, hub.URL)
	t.Setenv(enrol.EnvToken, "swe_good")
	t.Setenv(enrol.EnvStore, "S0042")
	log := slog.New(slog.DiscardHandler)
	if !enrollPending(context.Background(), file, log) {
		t.Fatal("the pending enrolment did not run")
	}
	cfg, _, ok := load(file, io.Discard)
	if !ok || cfg.Tenant != "acme" || cfg.Store != "S0042" || cfg.Broker.Username != "acme-S0042-main" ||
		cfg.Broker.Password != "q8Jd3LxV0nP2rT5wY7zB9cE1gH4kM6oQ" || cfg.Remote.HubPublicKey == "" {
		t.Fatalf("configuration after enrolment: %+v", cfg)
	}
	st, err := os.Stat(enrol.SecretFile(file))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", err, st.Mode())
	}
	// The variables stay in /etc/default/storeagent: later starts see the
	// enrolment done and do not spend the token again.
	if enrollPending(context.Background(), file, log) || n.Load() != 1 {
		t.Fatalf("a second start enrolled again (%d requests)", n.Load())
	}
}

func TestPendingFileIsRemovedOnceDoneOrRefused(t *testing.T) {
	hub, _ := fakeHub(t)
	for _, c := range []struct {
		token   string
		enrols  bool
		failure bool
	}{{"swe_good", true, false}, {"swe_used", false, true}} {
		t.Run(c.token, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "agent.yaml")
			if err := os.WriteFile(file, []byte(newConfig), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := enrol.SavePending(file, enrol.Pending{Hub: hub.URL, Token: c.token, Store: "S0042"}); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(enrol.PendingFile(file)); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("pending file: %v %v; want 0600, it holds the token", err, st.Mode())
			}
			if got := enrollPending(context.Background(), file, slog.New(slog.DiscardHandler)); got != c.enrols {
				t.Fatalf("enrollPending = %v", got)
			}
			if _, err := os.Stat(enrol.PendingFile(file)); err == nil {
				t.Fatal("the pending file is still there")
			}
			failed, err := os.ReadFile(enrol.PendingFile(file) + ".failed")
			if c.failure != (err == nil) || (c.failure && !strings.Contains(string(failed), "used_up")) {
				t.Fatalf("failure note: %q, %v", failed, err)
			}
		})
	}
}

func TestEnrollRefusalSaysWhy(t *testing.T) {
	hub, _ := fakeHub(t)
	file := filepath.Join(t.TempDir(), "agent.yaml")
	var out, errOut strings.Builder
	code := program.Run(context.Background(), []string{"enroll", "--hub", hub.URL, "--token", "swe_used", "--store", "S0042", "--config", file},
		cli.Stdio{Out: &out, Err: &errOut})
	if code != 2 || !strings.Contains(errOut.String(), "used_up") || !strings.Contains(errOut.String(), "ask for a new one") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("a refused enrolment wrote the configuration")
	}
}

// storeagent enroll warns before it sends a token in the clear over a
// network; loopback and HTTPS are quiet.
func TestPlainHTTPOverTheNetworkIsWarnedOf(t *testing.T) {
	for hub, want := range map[string]bool{
		"http://hub.example.com:8080": true,
		"http://192.168.10.5":         true,
		"https://hub.example.com":     false,
		"http://127.0.0.1:8080":       false,
		"http://[::1]:8080":           false,
		"http://localhost:8080":       false,
	} {
		if got := plainOverNetwork(hub); got != want {
			t.Errorf("plainOverNetwork(%q) = %v, want %v", hub, got, want)
		}
	}
}
