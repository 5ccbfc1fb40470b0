package email

import (
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
)

func init() {
	helpdesk.Register(helpdesk.Info{
		Name:        "email",
		Description: "plain-text mail threaded by Message-ID, the channel every helpdesk ingests",
		Settings:    func() helpdesk.Settings { return &Config{} },
	})
}

// Config is an email helpdesk's settings (its email: section): tickets as
// mail, the channel every helpdesk ingests.
type Config struct {
	Server string `yaml:"server"` // host:port of the SMTP server (submission, usually 587)
	// TLS is "starttls" (default: upgrade before AUTH, refuse servers that
	// cannot), "tls" (implicit TLS, port 465) or "none" (only for a relay on
	// the same host).
	TLS      string   `yaml:"tls"`
	CAFile   string   `yaml:"ca_file"` // trust this CA instead of the system's
	Username string   `yaml:"username"`
	Password string   `yaml:"password"`
	From     string   `yaml:"from"` // storewatch@example.com
	To       []string `yaml:"to"`   // the helpdesk's intake address(es); a rule's project that is an address replaces them
	// Domain is the right-hand side of Message-IDs; default the From
	// address's domain.
	Domain  string        `yaml:"domain"`
	Timeout time.Duration `yaml:"timeout"` // default 30s
}

// Validate applies the defaults and reports every mistake (helpdesk.Settings).
func (e *Config) Validate(bad func(path, format string, args ...any)) {
	if e.Timeout == 0 {
		e.Timeout = 30 * time.Second
	}
	if e.TLS == "" {
		e.TLS = "starttls"
	}
	if e.Domain == "" {
		if a, err := mail.ParseAddress(e.From); err == nil {
			_, e.Domain, _ = strings.Cut(a.Address, "@")
		}
	}
	if host, port, err := net.SplitHostPort(e.Server); err != nil || host == "" || port == "" {
		bad("server", "%q: want host:port, such as smtp.example.com:587", e.Server)
	}
	switch e.TLS {
	case "starttls", "tls", "none":
	default:
		bad("tls", "%q: want starttls, tls or none", e.TLS)
	}
	if e.TLS == "none" && e.Username != "" {
		bad("tls", "none would send the password in clear text; use starttls or tls with a username")
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		bad("from", "%q is not an email address", e.From)
	}
	if len(e.To) == 0 {
		bad("to", "required: the helpdesk's intake address")
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			bad(fmt.Sprintf("to[%d]", i), "%q is not an email address", to)
		}
	}
	if e.Domain == "" || strings.ContainsAny(e.Domain, "<>@ ") {
		bad("domain", "%q: want a domain name for Message-IDs", e.Domain)
	}
}

// CheckTarget checks that a routing target's project, which for email is
// the address to send to, is an address (helpdesk.Settings).
func (e *Config) CheckTarget(t helpdesk.Target, bad func(path, format string, args ...any)) {
	if t.Project == "" {
		return
	}
	if _, err := mail.ParseAddress(t.Project); err != nil {
		bad("project", "%q: for an email helpdesk the project is the address to send to", t.Project)
	}
}

// Connector builds the email connector (helpdesk.Settings).
func (e *Config) Connector() (helpdesk.Connector, error) { return New(*e) }
