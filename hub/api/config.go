package api

import (
	"fmt"
	"net/url"

	"github.com/storewatch/storewatch/config"
)

// Config is the api: section of the hub's configuration: the HTTP API, with
// the web console and /metrics under it.
type Config struct {
	Listen     string  `yaml:"listen" doc:"Address of the HTTP API, e.g. 127.0.0.1:8080"`
	TLSCert    string  `yaml:"tls_cert" doc:"PEM certificate for HTTPS (with tls_key)"`
	TLSKey     string  `yaml:"tls_key" doc:"PEM key for HTTPS"`
	Tokens     []Token `yaml:"tokens" doc:"Bearer tokens and their roles"`
	ConsoleDir string  `yaml:"console_dir" doc:"A directory with templates/ and static/ that replace the web console's embedded ones (default: the embedded ones)"`
	PublicURL  string  `yaml:"public_url" doc:"The hub's address as people reach it, e.g. https://storehub.example.com; tickets link to /console/incidents/{id} under it"`
}

// Token is one bearer token.
type Token struct {
	Name        string `yaml:"name" required:"true" doc:"Who holds the token, for the audit trail"`
	Role        string `yaml:"role" required:"true" doc:"viewer (read), engineer (acknowledge, comment, close, maintenance) or admin (everything)" enum:"viewer,engineer,admin"`
	Token       string `yaml:"token" doc:"The token itself; better ${ENV_NAME}" secret:"true"`
	TokenSHA256 string `yaml:"token_sha256" doc:"Hex SHA-256 of the token, so the file holds no secret"`
}

// DefaultListen is where the API listens unless the section says.
const DefaultListen = "127.0.0.1:8080"

// Validate applies the defaults and reports every mistake, with paths
// relative to the section.
func (c *Config) Validate() config.Errors {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if err := config.CheckHostPort(c.Listen); err != nil {
		bad("listen", "%v", err)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public_url", "%q: want the hub's address as people reach it, such as https://storehub.example.com", c.PublicURL)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls_cert", "HTTPS needs both tls_cert and tls_key")
	}
	names := map[string]int{}
	for i, t := range c.Tokens {
		p := fmt.Sprintf("tokens[%d]", i)
		if t.Name == "" {
			bad(p+".name", "required: who holds the token")
		} else if j, dup := names[t.Name]; dup {
			bad(p+".name", "%q is already used by api.tokens[%d]", t.Name, j)
		} else {
			names[t.Name] = i
		}
		if _, ok := ParseRole(t.Role); !ok {
			bad(p+".role", "unknown role %q (viewer, engineer or admin)", t.Role)
		}
		switch {
		case t.Token == "" && t.TokenSHA256 == "":
			bad(p, "give token (better ${ENV_NAME}) or token_sha256")
		case t.Token != "" && t.TokenSHA256 != "":
			bad(p, "give token or token_sha256, not both")
		case t.Token != "" && len(t.Token) < 16:
			bad(p+".token", "too short: use at least 16 random characters")
		case t.TokenSHA256 != "" && !isHex(t.TokenSHA256, 64):
			bad(p+".token_sha256", "must be 64 hex digits (sha256sum of the token)")
		}
	}
	return errs
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}
