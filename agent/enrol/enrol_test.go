package enrol

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/wire"
)

func TestWriteSecretIsForTheServiceOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker-password")
	for _, content := range []string{"first\n", "second\n"} { // a new one replaces the old
		if err := WriteSecret(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v", got, err)
		}
	}
	if runtime.GOOS != "windows" {
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", st.Mode().Perm())
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestRequestExplainsWhatWentWrong(t *testing.T) {
	notHub := httptest.NewServer(http.NotFoundHandler())
	defer notHub.Close()
	req := wire.EnrolRequest{Token: "swe_x", Store: "S0042", Agent: "main"}
	for _, c := range []struct{ hub, want string }{
		{"ftp://hub", "want the hub's API address"},
		{notHub.URL, "is --hub the hub's API address?"},
		{"http://127.0.0.1:1", "cannot reach the hub"},
	} {
		_, err := Request(context.Background(), c.hub, req, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || Permanent(err) {
			t.Errorf("Request(%s) = %v; want a passing error saying %q", c.hub, err, c.want)
		}
	}
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":"enrolment token abc expired at 2026-12-01T00:00:00Z; ask for a new one","code":"expired"}`))
	}))
	defer refusing.Close()
	_, err := Request(context.Background(), refusing.URL, req, Options{})
	if !Permanent(err) || !strings.Contains(err.Error(), "(expired)") {
		t.Fatalf("refusal: %v", err)
	}
	// Too many refused attempts from this address: time lifts it, so a
	// pending enrolment tries again at the next start.
	limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "42")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"too many refused enrolments from 192.0.2.1: try again in 42s","code":"too_many"}`))
	}))
	defer limited.Close()
	if _, err := Request(context.Background(), limited.URL, req, Options{}); err == nil || Permanent(err) || !strings.Contains(err.Error(), "too_many") {
		t.Fatalf("too many attempts: %v; want a passing refusal", err)
	}
}

func TestPendingFromTheEnvironment(t *testing.T) {
	env := map[string]string{EnvURL: "https://hub", EnvToken: " swe_x ", EnvStore: "S0042"}
	p, err := LoadPending(filepath.Join(t.TempDir(), "agent.yaml"), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || p == nil || p.Token != "swe_x" || p.Store != "S0042" {
		t.Fatalf("LoadPending = %+v, %v", p, err)
	}
	env[EnvStore] = ""
	if _, err := LoadPending(filepath.Join(t.TempDir(), "agent.yaml"), func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil {
		t.Fatal("a pending enrolment without a store")
	}
	if p, err := LoadPending(filepath.Join(t.TempDir(), "agent.yaml"), func(string) (string, bool) { return "", false }); p != nil || err != nil {
		t.Fatalf("none pending: %+v, %v", p, err)
	}
}
