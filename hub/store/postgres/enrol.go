package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/storewatch/storewatch/hub/store"
)

// PutEnrolToken implements store.Backend.
func (s *Store) PutEnrolToken(t store.EnrolToken) error {
	b := &pgx.Batch{}
	if err := queueEnrolToken(b, t); err != nil {
		return fmt.Errorf("store: enrolment token: %w", err)
	}
	return s.read("an enrolment token", func(ctx context.Context) error { return s.pool.SendBatch(ctx, b).Close() })
}

func queueEnrolToken(b *pgx.Batch, t store.EnrolToken) error {
	rec, err := jsonText(t)
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO enrol_tokens (hash, id, tenant, record) VALUES ($1, $2, $3, $4::jsonb)
ON CONFLICT (hash) DO UPDATE SET record = excluded.record`, text(t.Hash), text(t.ID), text(t.Tenant), rec)
	return nil
}

func queueAgentCredential(b *pgx.Batch, c store.AgentCredential) error {
	rec, err := jsonText(c)
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO agent_credentials (tenant, store, agent, record) VALUES ($1, $2, $3, $4::jsonb)
ON CONFLICT (tenant, store, agent) DO UPDATE SET record = excluded.record`, text(c.Tenant), text(c.Store), text(c.Agent), rec)
	return nil
}

// EnrolTokens implements store.Backend.
func (s *Store) EnrolTokens(tenant string) ([]store.EnrolToken, error) {
	out, err := listed[store.EnrolToken](s, "enrolment tokens", `SELECT record FROM enrol_tokens WHERE $1 = '' OR tenant = $1`, text(tenant))
	store.SortTokens(out)
	return out, err
}

// Enrol implements store.Backend: the token's row is locked for the
// transaction, so two enrolments racing for its last use are serialized.
func (s *Store) Enrol(hash, agentKey string, issue store.Issue) (store.AgentCredential, error) {
	var out store.AgentCredential
	err := s.retry("an enrolment", readTries, func(ctx context.Context) error {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		var raw []byte
		if err := tx.QueryRow(ctx, `SELECT record FROM enrol_tokens WHERE hash = $1 FOR UPDATE`, text(hash)).Scan(&raw); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errPermanent{store.ErrUnknownToken}
			}
			return err
		}
		var t store.EnrolToken
		if err := json.Unmarshal(raw, &t); err != nil {
			return errPermanent{err}
		}
		var cur *store.AgentCredential
		raw = nil
		err = tx.QueryRow(ctx, `SELECT record FROM agent_credentials WHERE tenant || '/' || store || '/' || agent = $1 FOR UPDATE`, text(agentKey)).Scan(&raw)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			cur = &store.AgentCredential{}
			if err := json.Unmarshal(raw, cur); err != nil {
				return errPermanent{err}
			}
		}
		c, err := issue(&t, cur)
		if err != nil {
			return errPermanent{err}
		}
		if c.Key() != agentKey {
			return errPermanent{fmt.Errorf("credential for %s, not %s", c.Key(), agentKey)}
		}
		b := &pgx.Batch{}
		if err := queueEnrolToken(b, t); err != nil {
			return errPermanent{err}
		}
		if err := queueAgentCredential(b, c); err != nil {
			return errPermanent{err}
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("store: enrolment: %w", err)
	}
	return out, nil
}

// PutAgentCredential implements store.Backend.
func (s *Store) PutAgentCredential(c store.AgentCredential) error {
	b := &pgx.Batch{}
	if err := queueAgentCredential(b, c); err != nil {
		return fmt.Errorf("store: agent credential: %w", err)
	}
	return s.read("an agent credential", func(ctx context.Context) error { return s.pool.SendBatch(ctx, b).Close() })
}

// AgentCredentials implements store.Backend.
func (s *Store) AgentCredentials() ([]store.AgentCredential, error) {
	return listed[store.AgentCredential](s, "agent credentials", `SELECT record FROM agent_credentials ORDER BY tenant, store, agent`)
}

// PutProfile implements store.Backend.
func (s *Store) PutProfile(p store.ProfileRecord) error {
	b := &pgx.Batch{}
	if err := queueProfile(b, p); err != nil {
		return fmt.Errorf("store: profile: %w", err)
	}
	return s.read("a profile", func(ctx context.Context) error { return s.pool.SendBatch(ctx, b).Close() })
}

func queueProfile(b *pgx.Batch, p store.ProfileRecord) error {
	rec, err := jsonText(p)
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO profiles (tenant, name, record) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (tenant, name) DO UPDATE SET record = excluded.record`, text(p.Tenant), text(p.Name), rec)
	return nil
}

// DeleteProfile implements store.Backend.
func (s *Store) DeleteProfile(tenant, name string) error {
	var n int64
	err := s.read("a profile", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM profiles WHERE tenant = $1 AND name = $2`, text(tenant), text(name))
		n = tag.RowsAffected()
		return err
	})
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// Profiles implements store.Backend.
func (s *Store) Profiles(tenant string) ([]store.ProfileRecord, error) {
	return listed[store.ProfileRecord](s, "profiles", `SELECT record FROM profiles WHERE $1 = '' OR tenant = $1 ORDER BY tenant, name`, text(tenant))
}
