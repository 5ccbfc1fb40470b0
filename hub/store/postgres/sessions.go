package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// PutSession keeps a console session, sealed (hub/console.SealedSessions),
// and drops the sessions that are over.
func (s *Store) PutSession(key, sealed []byte, expires time.Time) error {
	return s.read("a console session", func(ctx context.Context) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO console_sessions (key, sealed, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at`, key, sealed, expires)
		b.Queue(`DELETE FROM console_sessions WHERE expires_at < now()`)
		return s.pool.SendBatch(ctx, b).Close()
	})
}

// GetSession returns a console session as PutSession kept it.
func (s *Store) GetSession(key []byte) (sealed []byte, expires time.Time, ok bool, err error) {
	err = s.read("a console session", func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT sealed, expires_at FROM console_sessions WHERE key = $1`, key).Scan(&sealed, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	return sealed, expires, ok, err
}

// DeleteSession ends a console session.
func (s *Store) DeleteSession(key []byte) error {
	return s.read("a console session", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE key = $1`, key)
		return err
	})
}
