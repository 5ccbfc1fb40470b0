package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a private PostgreSQL server started for tests: initdb into a
// temporary directory, the server on a free loopback port with its unix
// socket in that directory, fsync off (a test's data need not survive the
// machine, only the server), stopped by pid. Run as root, it runs as the
// postgres OS user, since PostgreSQL refuses to run as root.
//
// A test binary shares one server (PostgresDB, with PostgresMain in
// TestMain) and gives each test a fresh database; a test that stops or
// restarts the server starts its own (StartPostgres).
type Postgres struct {
	// Port is the server's TCP port on 127.0.0.1.
	Port int
	// Dir holds the data directory (data/), the socket and the log.
	Dir string

	bin      string // the directory of initdb and postgres
	settings []string
	password string // the superuser's, in every DSN
	cred     *owner // nil when the tests do not run as root

	mu    sync.Mutex
	cmd   *exec.Cmd
	out   *Buffer
	done  chan struct{}
	dbs   int
	start int // how often the server was started
}

// pgSuperuser is the superuser initdb creates.
const pgSuperuser = "postgres"

// findPostgres returns the directory of initdb and postgres: on the PATH
// (Debian links them into /usr/local/bin on some machines), else the
// newest /usr/lib/postgresql/N/bin, where Debian installs them.
func findPostgres() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	if len(dirs) > 0 {
		return filepath.Dir(dirs[0]), nil
	}
	return "", errors.New("PostgreSQL (initdb, postgres) is not installed")
}

func pgVersion(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// needPostgres finds the programs, skipping the test without them (failing
// it under CI=true).
func needPostgres(t testing.TB) string {
	t.Helper()
	bin, err := findPostgres()
	if err == nil {
		return bin
	}
	if CI() {
		t.Fatalf("%v; the test command (scripts/test) should have installed it (scripts/deps.d/postgres.txt)", err)
	}
	t.Skipf("%v (run scripts/test, which installs it, or apt-get install postgresql)", err)
	return ""
}

// StartPostgres starts a server of the test's own, stopped when the test
// ends: for tests that stop, restart or break it. settings are extra
// server settings ("fsync=on" for a benchmark of durable commits).
func StartPostgres(t testing.TB, settings ...string) *Postgres {
	t.Helper()
	p, err := newPostgres(needPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	p.settings = settings
	t.Cleanup(p.close)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

func newPostgres(bin string) (p *Postgres, err error) {
	cred, err := pgOwner()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "storewatch-pg-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	pw := make([]byte, 12)
	_, _ = rand.Read(pw)
	p = &Postgres{Dir: dir, bin: bin, password: "pw-" + hex.EncodeToString(pw), cred: cred}
	if err := cred.chown(dir); err != nil {
		return nil, err
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := cred.chown(pwfile); err != nil {
		return nil, err
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", pgSuperuser, "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
	cred.apply(initdb)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if p.Port, err = PickPort(); err != nil {
		return nil, err
	}
	return p, nil
}

// Start starts the server (again, after Stop: same data, same port) and
// waits until it accepts connections.
func (p *Postgres) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("postgres: already running")
	}
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", filepath.Join(p.Dir, "data"), "-p", strconv.Itoa(p.Port), "-k", p.Dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
		"-c", "shared_buffers=32MB", "-c", "log_min_messages=warning")
	for _, s := range p.settings {
		cmd.Args = append(cmd.Args, "-c", s)
	}
	p.cred.apply(cmd)
	p.out = &Buffer{}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	setGroup(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	p.cmd, p.done, p.start = cmd, make(chan struct{}), p.start+1
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(p.done)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		c, err := pgx.Connect(ctx, p.DSN("postgres"))
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-p.done:
			p.cmd = nil
			return fmt.Errorf("postgres exited at start: %s", p.out.String())
		case <-ctx.Done():
			return fmt.Errorf("postgres does not accept connections after 60s (%v): %s", err, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops the server as a crash would (an immediate shutdown: SIGQUIT
// to the postmaster's pid, SIGKILL to its group if it lingers). Committed
// data survives it; Start brings the server back.
func (p *Postgres) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		signalGroup(p.cmd.Process, syscall.SIGKILL)
		<-p.done
	}
	p.cmd = nil
}

// Restart stops and starts the server.
func (p *Postgres) Restart() error {
	p.Stop()
	return p.Start()
}

// Output is what the server logged (warnings and worse) since it last
// started.
func (p *Postgres) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out == nil {
		return ""
	}
	return p.out.String()
}

func (p *Postgres) close() {
	p.Stop()
	os.RemoveAll(p.Dir)
}

// DSN is the connection string of database db as the superuser, with its
// password (the servers take passwords over TCP, as production ones do).
func (p *Postgres) DSN(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(pgSuperuser, p.password), Host: fmt.Sprintf("127.0.0.1:%d", p.Port),
		Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// Password is the superuser's password, which every DSN holds: for tests
// that check it never shows in logs or errors.
func (p *Postgres) Password() string { return p.password }

var dbName = regexp.MustCompile(`[^a-z0-9]+`)

// NewDatabase creates an empty database for the test and returns its DSN;
// it is dropped when the test ends (after what the test opened on it is
// closed: cleanups run last first).
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	p.mu.Lock()
	p.dbs++
	name := fmt.Sprintf("t%d_%s", p.dbs, dbName.ReplaceAllString(strings.ToLower(t.Name()), "_"))
	p.mu.Unlock()
	if len(name) > 60 {
		name = name[:60]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = p.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return p.DSN(name)
}

func (p *Postgres) exec(ctx context.Context, sql string) error {
	c, err := pgx.Connect(ctx, p.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("postgres: %s: %w", sql, err)
	}
	return nil
}

// The test binary's shared server.
var shared struct {
	sync.Mutex
	managed bool // PostgresMain runs the tests
	pg      *Postgres
	err     error
}

// PostgresMain runs the tests and then stops the binary's shared server, if
// a test started it. A package whose tests use PostgresDB calls it from
// TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }
func PostgresMain(m *testing.M) int {
	shared.Lock()
	shared.managed = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.pg != nil {
		shared.pg.close()
		shared.pg = nil
	}
	return code
}

// PostgresDB returns the DSN of a fresh, empty database for the test on the
// binary's shared server, starting it at the first call. Without
// PostgreSQL the test is skipped (failed under CI=true).
func PostgresDB(t testing.TB) string {
	t.Helper()
	return SharedPostgres(t).NewDatabase(t)
}

// SharedPostgres returns the binary's shared server, starting it at the
// first call. Tests must not stop it: StartPostgres gives a test its own.
func SharedPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := needPostgres(t)
	shared.Lock()
	defer shared.Unlock()
	if !shared.managed {
		t.Fatal("testenv: the shared PostgreSQL needs TestMain to call testenv.PostgresMain, which stops it after the tests")
	}
	if shared.pg == nil && shared.err == nil {
		shared.pg, shared.err = newPostgres(bin)
		if shared.err == nil {
			if shared.err = shared.pg.Start(); shared.err != nil {
				shared.pg.close()
				shared.pg = nil
			}
		}
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.pg
}
