package cluster

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/storewatch/storewatch/config"
)

// Defaults of the cluster: section.
const (
	DefaultPartitions = 6
	DefaultLease      = 15 * time.Second
	MaxPartitions     = 256
)

// Config is the hub file's cluster: section, owned here as store: is by
// hub/store. Given, the hub runs as one replica of several: it needs the
// postgres store and external brokers.
//
//	cluster:
//	  replica: hub-a            # unique and stable per replica; default: the host name
//	  partitions: 6             # the same on every replica
//	  lease: 15s                # a dead replica's partitions move after at most this
//	  api_url: http://hub-a:8080
type Config struct {
	Replica    string        `yaml:"replica" doc:"This replica's name, unique and stable across restarts (a restarted replica takes its partitions back at once); default the host name"`
	Partitions int           `yaml:"partitions" doc:"How many partitions the stores are divided into; the same on every replica, and never changed while the database holds incidents; default 6"`
	Lease      time.Duration `yaml:"lease" doc:"How long a partition's lease lasts unless renewed: the longest a dead replica's stores wait for another replica; default 15s"`
	Renew      time.Duration `yaml:"renew" doc:"How often leases are renewed and the share rebalanced; default a third of lease"`
	APIURL     string        `yaml:"api_url" doc:"The URL at which the other replicas reach this replica's API, to hand it the incident actions and maintenance windows of the partitions it holds (http or https, no path); default the API's listen address when that is not a wildcard"`
}

// WithDefaults fills what was left out.
func (c Config) WithDefaults() Config {
	if c.Replica == "" {
		c.Replica, _ = os.Hostname()
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Lease == 0 {
		c.Lease = DefaultLease
	}
	if c.Renew == 0 {
		c.Renew = c.Lease / 3
	}
	return c
}

// Validate lists the section's mistakes, with paths relative to it.
func (c *Config) Validate() config.Errors {
	*c = c.WithDefaults()
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Replica == "" {
		bad("replica", "required: the host name is not known")
	}
	if c.Partitions < 1 || c.Partitions > MaxPartitions {
		bad("partitions", "%d: between 1 and %d", c.Partitions, MaxPartitions)
	}
	if c.Lease < time.Second {
		bad("lease", "%v: at least 1s", c.Lease)
	}
	if c.APIURL != "" {
		if err := CheckAPIURL(c.APIURL); err != nil {
			bad("api_url", "%v", err)
		}
	}
	if c.Renew <= 0 || c.Renew > c.Lease/2 {
		bad("renew", "%v: more than 0 and at most half the lease (%v), so that one missed renewal does not lose it", c.Renew, c.Lease)
	}
	return errs
}

// CheckAPIURL checks a replica's API URL: http or https, a host and port
// the other replicas can reach, nothing after it.
func CheckAPIURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want http:// or https://", s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q: no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
		return fmt.Errorf("%q: only scheme, host and port (the API's routes are appended)", s)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("%q: %s is every address, which the other replicas cannot reach", s, u.Hostname())
	}
	return nil
}

// DefaultAPIURL is the API URL of a replica whose API listens on listen
// (host:port): empty when the host is a wildcard, which names no address
// the other replicas can reach.
func DefaultAPIURL(listen string, tls bool) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host == "" || port == "" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return ""
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
