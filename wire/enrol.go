package wire

import (
	"fmt"
	"net/url"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
)

// Enrolment is the one exchange between a store PC and the hub that is not
// MQTT: storeagent enroll posts an EnrolRequest, with a short-lived token
// and no other secret, to the hub's API over HTTP(S) (EnrolPath), and gets
// back its identity and its own broker password in an EnrolResponse, or an
// EnrolRefusal (docs/protocol.md, "Security model of enrolment").

// EnrolPath is where the hub takes enrolments.
const EnrolPath = "/api/v1/enrol"

// DefaultAgentName is the agent id of a store PC enrolled without --agent:
// the same name again when the PC is replaced, so the store keeps its
// history under it.
const DefaultAgentName = "main"

// EnrolRequest asks the hub to enrol this PC as agent Agent of store Store.
type EnrolRequest struct {
	V        int    `json:"v"`
	Token    string `json:"token"`
	Store    string `json:"store"`
	Agent    string `json:"agent"`
	Hostname string `json:"hostname,omitempty"`
	OS       string `json:"os,omitempty"`      // GOOS/GOARCH
	Version  string `json:"version,omitempty"` // storeagent's
}

// EnrolResponse is the hub's answer to an accepted enrolment. Password is
// shown this once: the hub keeps only its hash.
type EnrolResponse struct {
	V int `json:"v"`
	AgentID
	Username     string   `json:"username"`
	Password     string   `json:"password"`
	BrokerURLs   []string `json:"broker_urls"`
	HubPublicKey string   `json:"hub_public_key,omitempty"` // remote.hub_public_key: signs queries and pushed configuration
	CACert       string   `json:"ca_cert,omitempty"`        // PEM of the broker's CA, for tls:// URLs
	Replaced     bool     `json:"replaced,omitempty"`       // an earlier enrolment of this agent id was replaced
}

// Refusal codes of an enrolment (EnrolRefusal.Code).
const (
	EnrolUnknownToken = "unknown_token" // no such token (mistyped, or never created)
	EnrolExpired      = "expired"       // past its expiry
	EnrolUsedUp       = "used_up"       // every use taken
	EnrolRevoked      = "revoked"       // revoked at the hub
	EnrolWrongStore   = "wrong_store"   // the token does not cover this store
	EnrolConflict     = "conflict"      // the agent id is configured by hand in hub.yaml
	EnrolInvalid      = "invalid"       // the request itself is malformed
	EnrolTooMany      = "too_many"      // too many refused attempts from this address: try again later (HTTP 429)
)

// EnrolRefusal is the body of a refused enrolment (HTTP 4xx).
type EnrolRefusal struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// MaxTokenLen bounds an enrolment token.
const MaxTokenLen = 256

// DecodeEnrolRequest parses a request strictly and checks it.
func DecodeEnrolRequest(data []byte) (*EnrolRequest, error) {
	var r EnrolRequest
	if err := decodeHTTP(data, &r, &r.V, "enrol request"); err != nil {
		return nil, err
	}
	if r.Agent == "" {
		r.Agent = DefaultAgentName
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate checks a request.
func (r *EnrolRequest) Validate() error {
	switch {
	case r.Token == "":
		return invalidEnrol("token", "missing")
	case len(r.Token) > MaxTokenLen || strings.ContainsAny(r.Token, " \t\r\n"):
		return invalidEnrol("token", "not a token")
	}
	if err := ValidateSegment(r.Store); err != nil {
		return invalidEnrol("store", "%v", err)
	}
	if err := ValidateSegment(r.Agent); err != nil {
		return invalidEnrol("agent", "%v", err)
	}
	for _, f := range []struct{ name, v string }{{"hostname", r.Hostname}, {"os", r.OS}, {"version", r.Version}} {
		if len(f.v) > 255 {
			return invalidEnrol(f.name, "longer than 255 characters")
		}
	}
	return nil
}

// DecodeEnrolResponse parses an accepted enrolment strictly and checks it.
func DecodeEnrolResponse(data []byte) (*EnrolResponse, error) {
	var r EnrolResponse
	if err := decodeHTTP(data, &r, &r.V, "enrol response"); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate checks a response.
func (r *EnrolResponse) Validate() error {
	if err := r.AgentID.Validate(); err != nil {
		return invalidEnrol("agent id", "%v", err)
	}
	if r.Username == "" || strings.ContainsAny(r.Username, ":# \t\r\n") {
		return invalidEnrol("username", "%q is not a broker user name", r.Username)
	}
	if len(r.Password) < 16 || strings.ContainsAny(r.Password, "\r\n") {
		return invalidEnrol("password", "missing or too short")
	}
	if len(r.BrokerURLs) == 0 {
		return invalidEnrol("broker_urls", "missing: the hub does not say where its broker is (enrolment.broker_urls in hub.yaml)")
	}
	for i, raw := range r.BrokerURLs {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || !brokerSchemes[u.Scheme] {
			return invalidEnrol(fmt.Sprintf("broker_urls[%d]", i), "%q is not a broker URL", raw)
		}
	}
	if r.CACert != "" && !strings.Contains(r.CACert, "-----BEGIN CERTIFICATE-----") {
		return invalidEnrol("ca_cert", "not a PEM certificate")
	}
	return nil
}

func invalidEnrol(field, format string, args ...any) error {
	return &DecodeError{Kind: ErrInvalid, Field: field, Err: fmt.Errorf(format, args...)}
}

// decodeHTTP decodes one JSON object strictly into out and checks its
// version field v.
func decodeHTTP(data []byte, out any, v *int, what string) error {
	if len(data) > MaxPayload {
		return &DecodeError{Kind: ErrTooLarge, Err: fmt.Errorf("%s: %d bytes, limit %d", what, len(data), MaxPayload)}
	}
	if err := jsonv2.Unmarshal(data, out, jsonv2.RejectUnknownMembers(true)); err != nil {
		return &DecodeError{Kind: ErrMalformed, Err: fmt.Errorf("%s: %w", what, err)}
	}
	if *v != Version {
		return &DecodeError{Kind: ErrUnsupportedVersion, Version: *v}
	}
	return nil
}

var brokerSchemes = map[string]bool{"tcp": true, "mqtt": true, "ssl": true, "tls": true, "mqtts": true, "ws": true, "wss": true}
