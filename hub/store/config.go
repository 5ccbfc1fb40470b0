package store

import (
	"fmt"
	"strings"

	"github.com/storewatch/storewatch/config"
)

// Store types.
const (
	TypeBolt     = "bolt"     // one bbolt file, data_dir/hub.db: the zero-setup default
	TypePostgres = "postgres" // a PostgreSQL database several replicas can share
)

// Config is the hub file's store: section. It is owned here, as tickets:
// and helpdesk: are by their packages; the hub decodes it with
// LoadConfig.
//
//	store:
//	  type: postgres
//	  dsn: ${STOREHUB_PG_DSN}
type Config struct {
	// Type is bolt (default) or postgres.
	Type string `yaml:"type"`
	// DSN is the PostgreSQL connection string (a postgres:// URL or
	// key=value words; pgxpool's pool_max_conns and the like may be part of
	// it). It usually holds a password: give it as ${ENV_NAME}; it is never
	// logged.
	DSN string `yaml:"dsn" secret:"true"`
}

// Validate lists the section's mistakes, with paths relative to it.
func (c Config) Validate() config.Errors {
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch c.Type {
	case TypeBolt:
		if c.DSN != "" {
			bad("dsn", "a bolt store has no dsn (did you mean type: postgres?)")
		}
	case TypePostgres:
		if strings.TrimSpace(c.DSN) == "" {
			bad("dsn", "required for type postgres: the connection string, best as ${STOREHUB_PG_DSN}")
		}
	default:
		bad("type", "%q is not a store type: bolt or postgres", c.Type)
	}
	return errs
}

// LoadConfig decodes and checks the store: section (bolt when it is not
// given), reporting mistakes with their lines like the rest of the file.
func LoadConfig(s config.Section) (Config, error) {
	var c Config
	errs := s.Decode(&c)
	if c.Type == "" {
		c.Type = TypeBolt
	}
	if len(errs) == 0 {
		errs = s.Errors(c.Validate())
	}
	if len(errs) > 0 {
		return c, errs
	}
	return c, nil
}
