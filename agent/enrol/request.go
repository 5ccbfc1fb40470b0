package enrol

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Refused is a refusal by the hub: a bad, expired, used-up or revoked
// token, or a store the token does not cover. Trying again does not help.
type Refused struct {
	Status int
	wire.EnrolRefusal
}

func (r *Refused) Error() string {
	if r.Code == "" {
		return fmt.Sprintf("the hub refused the enrolment (HTTP %d): %s", r.Status, r.EnrolRefusal.Error)
	}
	return fmt.Sprintf("the hub refused the enrolment (%s): %s", r.Code, r.EnrolRefusal.Error)
}

// Options of a request.
type Options struct {
	// CAFile, when set, is the CA the hub's HTTPS certificate must chain
	// to (default: the system's).
	CAFile string
	// Client overrides the HTTP client (tests).
	Client *http.Client
}

// Request enrols this PC at the hub whose API is at hub (https://... or,
// on a trusted network, http://).
func Request(ctx context.Context, hub string, req wire.EnrolRequest, o Options) (*wire.EnrolResponse, error) {
	u, err := url.Parse(strings.TrimRight(hub, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("--hub %q: want the hub's API address, such as https://hub.example.com", hub)
	}
	req.V = wire.Version
	if err := req.Validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hc := o.Client
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no PEM certificate", o.CAFile)
			}
			hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		}
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String()+wire.EnrolPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the hub at %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("reading the hub's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var ref wire.EnrolRefusal
		if json.Unmarshal(raw, &ref) != nil || ref.Error == "" {
			return nil, fmt.Errorf("the hub at %s answered HTTP %d, not an enrolment answer: is --hub the hub's API address?", u.Host, resp.StatusCode)
		}
		return nil, &Refused{Status: resp.StatusCode, EnrolRefusal: ref}
	}
	res, err := wire.DecodeEnrolResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("the hub's answer: %w", err)
	}
	if res.Store != req.Store || res.Agent != req.Agent {
		return nil, fmt.Errorf("the hub enrolled %s, not store %s agent %s", res.AgentID, req.Store, req.Agent)
	}
	return res, nil
}

// Permanent reports whether err is a refusal that repeating the request
// would not change (too many attempts from this address is lifted by
// time).
func Permanent(err error) bool {
	var r *Refused
	return errors.As(err, &r) && r.Status >= 400 && r.Status < 500 && r.Status != http.StatusTooManyRequests
}
