package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

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
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, b, err
}

func (c Client) base() string { return strings.TrimRight(c.API, "/") }

// Failure turns an error answer into an error that says where and why.
func (c Client) Failure(path string, status int, body []byte) error {
	var e struct{ Error string }
	_ = json.Unmarshal(body, &e)
	return fmt.Errorf("%s%s: HTTP %d: %s", c.base(), path, status, e.Error)
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
