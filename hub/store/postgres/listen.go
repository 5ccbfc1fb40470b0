package postgres

import (
	"context"
	"time"
)

// notifyChannel is the PostgreSQL notification channel a commit that adds
// notifications signals, so that the connectors of every replica wake, not
// only those of the replica that committed.
const notifyChannel = "storehub_notifications"

// listen holds a connection that LISTENs on notifyChannel and wakes
// Notified's waiters at each signal, until the store closes. After a lost
// connection it wakes them once more when it is back: a signal may have
// been missed meanwhile.
func (s *Store) listen() {
	wait := 100 * time.Millisecond
	for s.ctx.Err() == nil {
		err := s.listenOnce()
		if s.ctx.Err() != nil {
			return
		}
		s.log.Warn("postgres: listening for other replicas' notifications failed; trying again", "err", err)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, s.opt.RetryMax)
	}
}

func (s *Store) listenOnce() error {
	ctx, cancel := context.WithTimeout(s.ctx, s.opt.AttemptTimeout)
	conn, err := s.pool.Acquire(ctx)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(s.ctx, "LISTEN "+notifyChannel); err != nil {
		conn.Conn().Close(context.Background())
		return err
	}
	s.wake()
	for {
		_, err := conn.Conn().WaitForNotification(s.ctx)
		if err != nil {
			// The connection is in an unknown state: not back to the pool.
			conn.Conn().Close(context.Background())
			return err
		}
		s.wake()
	}
}
