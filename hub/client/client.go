package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/query"
)

// Client calls one hub's API.
type Client struct {
	API   string // http://127.0.0.1:8080
	Token string // a bearer token; empty: none
}

// Do sends one request and returns the answer's status and body.
func (c Client) Do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			return 0, nil, unreachable(c.base(), err)
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, b, err
}

func (c Client) base() string { return strings.TrimRight(c.API, "/") }

// Failure turns an error answer into an error that says where and why, and
// for a missing or refused token what to do about it.
func (c Client) Failure(path string, status int, body []byte) error {
	var e struct{ Error string }
	_ = json.Unmarshal(body, &e)
	err := fmt.Errorf("%s%s: HTTP %d: %s", c.base(), path, status, e.Error)
	switch {
	case status == http.StatusUnauthorized && c.Token == "":
		return fmt.Errorf("%w\n%s", err, NoToken)
	case status == http.StatusUnauthorized:
		return fmt.Errorf("%w\nthe hub does not know this token: check --token (or STOREHUB_TOKEN) against api.tokens in its hub.yaml", err)
	case status == http.StatusForbidden:
		return fmt.Errorf("%w\nthis token's role may not do that: use a token with a higher role (api.tokens in hub.yaml)", err)
	}
	return err
}

// NoToken says how to give a command the API token it lacks.
const NoToken = "the hub's API wants a token: give one with --token TOKEN or in the environment variable STOREHUB_TOKEN (the hub's tokens are in its hub.yaml, api.tokens; storewatch-demo prints one)"

// unreachable says what to do when the API does not answer.
func unreachable(api string, err error) error {
	why := err.Error()
	if errors.Is(err, syscall.ECONNREFUSED) {
		why = "connection refused"
	}
	return fmt.Errorf("no hub answers at %s (%s)\nstart one (storehub serve --config FILE, or go run ./cmd/storewatch-demo) "+
		"or point at yours with --hub URL (or STOREHUB_API)", api, why)
}

// StoreClock returns the hub's store clock (/healthz): the zero TimeScale
// for a hub that runs on real time, or when it cannot be read.
func (c Client) StoreClock(ctx context.Context) incident.TimeScale {
	status, body, err := c.Do(ctx, "GET", "/healthz", nil)
	var h api.Health
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &h) != nil || h.StoreClock == nil {
		return incident.TimeScale{}
	}
	return incident.TimeScale{Origin: h.StoreClock.Origin, StoreOrigin: h.StoreClock.StoreOrigin, Speed: h.StoreClock.Speed}
}

// Filters are the filters each listing takes (incidents, devices, stores,
// agents).
var Filters = map[string][]string{
	"incidents": {"tenant", "store", "device", "state", "priority", "model", "fault", "kind", "since", "until", "limit"},
	"devices":   {"tenant", "store", "state", "kind", "model"},
	"stores":    {"tenant"},
	"agents":    {"tenant", "store", "online", "behind"},
}

// List returns the JSON listing of incidents, devices or stores.
func (c Client) List(ctx context.Context, what string, filters url.Values) ([]byte, error) {
	path := "/api/v1/" + what
	if len(filters) > 0 {
		path += "?" + filters.Encode()
	}
	status, body, err := c.Do(ctx, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, c.Failure(path, status, body)
	}
	return body, nil
}

// Query asks a device's agent, through the hub, for op. It returns the
// answer as the API sent it (JSON) and decoded; an error is the API's (a
// query that failed at the agent is an answer).
func (c Client) Query(ctx context.Context, tenant, store, device, op string) (raw []byte, a query.Answer, status int, err error) {
	path := "/api/v1/stores/" + url.PathEscape(store) + "/devices/" + url.PathEscape(device) + "/query"
	if tenant != "" {
		path += "?" + url.Values{"tenant": {tenant}}.Encode()
	}
	body, _ := json.Marshal(query.Body{Op: op})
	status, raw, err = c.Do(ctx, "POST", path, body)
	if err != nil {
		return nil, a, status, err
	}
	if json.Unmarshal(raw, &a) != nil || (a.Code == "" && !a.OK) {
		return nil, a, status, c.Failure(path, status, raw) // an API error, not a query answer
	}
	return raw, a, status, nil
}
