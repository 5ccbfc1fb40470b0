package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storewatch/storewatch/hub/store"
)

// Options tune a Store; the zero value is what the hub uses.
type Options struct {
	Log *slog.Logger // retries and reconnects are logged here; default: discard
	// AttemptTimeout bounds one attempt of a statement or transaction
	// (default 30s): a server that stopped answering is then retried, not
	// waited for forever.
	AttemptTimeout time.Duration
	// RetryMax is the longest wait between retries (default 5s).
	RetryMax time.Duration
	// Context, when it ends, stops the waiting of calls that wait for the
	// database to come back: they fail with ErrClosed (a stopping hub has
	// acknowledged nothing they carry). Attempts in progress finish.
	// Default: until Close.
	Context context.Context
	// Listen makes Notified follow every replica's commits (LISTEN/NOTIFY),
	// not only this Store's: for the helpdesk delivery of a cluster of
	// replicas (hub/cluster). It holds one connection of the pool.
	Listen bool
}

// Store is store.Backend on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	opt  Options
	log  *slog.Logger

	ctx    context.Context // ends at Close: retries stop
	cancel context.CancelFunc

	mu       sync.Mutex
	notified chan struct{}
}

var _ store.Backend = (*Store)(nil)

// ErrClosed is returned by a call on a closed Store, or one that Close
// stopped while it waited for the database.
var ErrClosed = errors.New("postgres: store closed")

// Open connects to the database dsn names and checks that its schema is
// this build's (storehub migrate makes it so). The DSN is a secret: no
// error or log line repeats it.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.AttemptTimeout <= 0 {
		opt.AttemptTimeout = 30 * time.Second
	}
	if opt.RetryMax <= 0 {
		opt.RetryMax = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, opt.AttemptTimeout)
	defer cancel()
	if err := pool.Ping(cctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: cannot reach the database: %w", err)
	}
	if err := checkSchema(cctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, opt: opt, log: opt.Log, notified: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(cmp.Or(opt.Context, context.Background()))
	if opt.Listen {
		go s.listen()
	}
	return s, nil
}

// parseDSN reads the connection string. Its errors leave the string out:
// it usually holds a password.
func parseDSN(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) && pe.Unwrap() != nil {
			return nil, fmt.Errorf("postgres: the dsn is not a valid connection string: %v", pe.Unwrap())
		}
		return nil, errors.New("postgres: the dsn is not a valid connection string")
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "storehub"
	}
	return cfg, nil
}

// CheckDSN says whether dsn is a connection string, without connecting:
// for storehub config check.
func CheckDSN(dsn string) error {
	_, err := parseDSN(dsn)
	return err
}

// Close stops retries in progress and closes the pool.
func (s *Store) Close() error {
	s.cancel()
	s.pool.Close()
	return nil
}

// Notified implements store.Store: the channel is closed by the next
// commit of this Store that adds notifications.
func (s *Store) Notified() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notified
}

func (s *Store) wake() {
	s.mu.Lock()
	close(s.notified)
	s.notified = make(chan struct{})
	s.mu.Unlock()
}

// transient says whether err is the database or the connection being away
// for a while (a restart, a failover, a full connection table) rather
// than a refusal that would repeat.
func transient(err error) bool {
	if errors.As(err, new(errPermanent)) || errors.Is(err, store.ErrConflict) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin or crash shutdown, starting up
			pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
			pe.Code == "53300", pe.Code == "25006": // too many connections; a read-only server (a standby during failover)
			return true
		}
		return false
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) || strings.Contains(err.Error(), "conn closed")
}

// retry runs fn, each attempt under AttemptTimeout, until it succeeds,
// fails for a reason that would repeat, or, with tries > 0, has tried that
// often. Close ends the waiting with ErrClosed.
func (s *Store) retry(what string, tries int, fn func(ctx context.Context) error) error {
	wait := 50 * time.Millisecond
	var first time.Time
	for attempt := 1; ; attempt++ {
		if s.ctx.Err() != nil {
			return ErrClosed
		}
		// An attempt is not cut short by Close or Options.Context: a commit
		// in progress when the hub stops finishes (or fails on the closed
		// pool) rather than leaving its outcome unknown.
		ctx, cancel := context.WithTimeout(context.Background(), s.opt.AttemptTimeout)
		err := fn(ctx)
		cancel()
		if err == nil {
			if attempt > 1 {
				s.log.Info("postgres: back; "+what+" went through", "attempts", attempt, "paused", time.Since(first).Round(time.Millisecond))
			}
			return nil
		}
		if s.ctx.Err() != nil {
			return ErrClosed
		}
		if !transient(err) || (tries > 0 && attempt >= tries) {
			return err
		}
		if attempt == 1 {
			first = time.Now()
			s.log.Warn("postgres: unreachable; "+what+" waits and retries", "err", err)
		} else if attempt%20 == 0 {
			s.log.Warn("postgres: still unreachable; "+what+" waits", "attempts", attempt, "for", time.Since(first).Round(time.Second), "err", err)
		}
		select {
		case <-s.ctx.Done():
			return ErrClosed
		case <-time.After(wait):
		}
		wait = min(2*wait, s.opt.RetryMax)
	}
}

// readTries is how often a read is tried: enough to get past the dead
// connections a database restart leaves in the pool, few enough that the
// API answers an outage with an error rather than hanging.
const readTries = 3

// read runs a read (or an idempotent write) with a few tries.
func (s *Store) read(what string, fn func(ctx context.Context) error) error {
	if err := s.retry(what, readTries, fn); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// token is a commit's identity, for the retry of a commit whose outcome
// was lost.
func token() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}

// text makes a string storable in a text column: PostgreSQL text holds no
// NUL and only valid UTF-8.
func text(s string) string {
	if strings.IndexByte(s, 0) < 0 && isUTF8(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func isUTF8(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return strings.ToValidUTF8(s, "") == s
		}
	}
	return true
}

// jsonText encodes v for a jsonb column, which refuses the escaped NUL
// that Go writes for a NUL in a string.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	s := string(b)
	if strings.Contains(s, `\u0000`) {
		s = strings.ReplaceAll(s, `\u0000`, `\ufffd`)
	}
	return s, nil
}

// nullTime is NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// errPermanent stops retry: the operation may have reached the database,
// so trying again could store it twice.
type errPermanent struct{ err error }

func (e errPermanent) Error() string { return e.err.Error() }
func (e errPermanent) Unwrap() error { return e.err }

// pgxSafeToRetry says whether nothing of a failed statement reached the
// server.
func pgxSafeToRetry(err error) bool { return pgconn.SafeToRetry(err) }
