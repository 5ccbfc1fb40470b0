package hub

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/hub/store/postgres"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }

// migratedDB is a fresh PostgreSQL database with the store's schema.
func migratedDB(t *testing.T) string {
	t.Helper()
	dsn := testenv.PostgresDB(t)
	if _, err := postgres.Migrate(context.Background(), dsn, nil); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// The store: section is checked with the rest of the file, and the DSN,
// a secret, is never repeated in what is said about it.
func TestStoreSectionIsChecked(t *testing.T) {
	env := map[string]string{"PG_DSN": "postgres://hub:s3cret@db.example/hub?pool_max_conns=lots"}
	for _, c := range []struct {
		yaml, want string
	}{
		{"", ""},
		{"store: {type: bolt}\n", ""},
		{"store:\n  type: postgres\n", "hub.yaml:2: store.dsn: required for type postgres"},
		{"store:\n  type: mysql\n", `hub.yaml:3: store.type: "mysql" is not a store type`},
		{"store:\n  type: bolt\n  dsn: x\n", "store.dsn: a bolt store has no dsn"},
		{"store:\n  type: postgres\n  dsn: ${PG_DSN}\n", "store.dsn: postgres: the dsn is not a valid connection string"},
		{"store:\n  type: postgres\n  dns: x\n", `unknown setting "dns"`},
		{"store:\n  type: postgres\n  dsn: ${NOT_SET}\n", "environment variable NOT_SET is not set"},
	} {
		cfg, err := ParseConfig("hub.yaml", []byte("log_retention: 9600h\n"+c.yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err == nil {
			err = Check(cfg)
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.yaml, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%q: the error shows the DSN: %v", c.yaml, err)
		}
	}
}

// The example configuration's commented store: section, uncommented, is a
// valid configuration.
func TestExampleStoreSectionIsValid(t *testing.T) {
	data, err := os.ReadFile("../packaging/examples/hub.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if line == "# store:" {
			in = true
		}
		if line == "" {
			in = false
		}
		if in {
			line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		}
		out = append(out, line)
	}
	y := strings.Join(out, "\n")
	if !strings.Contains(y, "\nstore:\n  type: postgres\n") {
		t.Fatalf("the example has no commented store: section:\n%s", y)
	}
	env := map[string]string{"STOREHUB_VIEWER_TOKEN": "viewer-token-0123456789", "STOREHUB_ENGINEER_TOKEN": "engineer-token-0123456789",
		"STOREHUB_MQTT_PASSWORD": "pw", "STOREHUB_PG_DSN": "postgres://storehub:pw@db.example/storehub"}
	cfg, err := ParseConfig("hub.yaml", []byte(y), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(cfg); err != nil {
		t.Fatal(err)
	}
	if sc := cfg.Store; sc.Type != "postgres" || sc.DSN != env["STOREHUB_PG_DSN"] {
		t.Errorf("store %+v", sc)
	}
}
