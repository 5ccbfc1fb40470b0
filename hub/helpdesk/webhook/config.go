package webhook

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
)

func init() {
	helpdesk.Register(helpdesk.Info{
		Name:        "webhook",
		Description: "Standard Webhooks: every call as signed JSON to one URL (Zammad, GLPI, Jira automation, a dispatch partner)",
		Settings:    func() helpdesk.Settings { return &Config{} },
	})
}

// Config is a webhook helpdesk's settings (its webhook: section): Standard
// Webhooks signed JSON to a URL.
type Config struct {
	URL string `yaml:"url"`
	// Secret is "whsec_" followed by base64 of 24 to 64 random bytes; the
	// receiver verifies webhook-signature with it.
	Secret  string            `yaml:"secret"`
	Headers map[string]string `yaml:"headers"` // extra headers, e.g. Authorization for the receiver
	Timeout time.Duration     `yaml:"timeout"` // default 30s
}

// Validate applies the defaults and reports every mistake (helpdesk.Settings).
func (w *Config) Validate(bad func(path, format string, args ...any)) {
	if w.Timeout == 0 {
		w.Timeout = 30 * time.Second
	}
	if err := helpdesk.CheckURL(w.URL); err != nil {
		bad("url", "%v", err)
	}
	if _, err := decodeSecret(w.Secret); err != nil {
		bad("secret", "%v", err)
	}
	for k := range w.Headers {
		switch strings.ToLower(k) {
		case "webhook-id", "webhook-timestamp", "webhook-signature", "content-type":
			bad("headers."+k, "storewatch sets this header itself")
		}
	}
}

// CheckTarget accepts any target (helpdesk.Settings): the receiver reads
// the project and assignee group from the payload.
func (w *Config) CheckTarget(helpdesk.Target, func(path, format string, args ...any)) {}

// Connector builds the webhook connector (helpdesk.Settings).
func (w *Config) Connector() (helpdesk.Connector, error) { return New(*w) }

// decodeSecret turns "whsec_<base64>" into the HMAC key.
func decodeSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, fmt.Errorf("want \"whsec_\" followed by base64 (generate one with: echo whsec_$(head -c 32 /dev/urandom | base64))")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("the part after whsec_ is not base64: %v", err)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("the key is %d bytes; use 24 to 64 random bytes", len(key))
	}
	return key, nil
}
