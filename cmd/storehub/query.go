package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/wire"
)

// client calls the hub's API for the client commands.
type client struct {
	api, token *string
}

func clientFlags(fs *flag.FlagSet) *client {
	return &client{
		api:   fs.String("api", envOr("STOREHUB_API", "http://127.0.0.1:8080"), "hub API address"),
		token: fs.String("token", os.Getenv("STOREHUB_TOKEN"), "bearer token (or STOREHUB_TOKEN)"),
	}
}

func (c *client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := strings.TrimRight(*c.api, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if *c.token != "" {
		req.Header.Set("Authorization", "Bearer "+*c.token)
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

// failure turns an error response into an error.
func (c *client) failure(path string, status int, body []byte) error {
	var e struct{ Error string }
	_ = json.Unmarshal(body, &e)
	return fmt.Errorf("%s%s: HTTP %d: %s", strings.TrimRight(*c.api, "/"), path, status, e.Error)
}

// queryCmd asks a device's agent through the API and prints the answer.
func queryCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("query", stderr)
	c := clientFlags(fs)
	tenant := fs.String("tenant", "", "tenant, when several use the store id")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: storehub query [flags] STORE DEVICE [status|identify|counters|operations]")
		fs.PrintDefaults()
	}
	var pos []string
	for { // flags may come before or after the arguments
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) < 2 || len(pos) > 3 {
		fs.Usage()
		return errors.New("query: want STORE DEVICE and optionally an operation")
	}
	op := wire.OpStatus
	if len(pos) == 3 {
		op = pos[2]
	}
	if op == wire.OpRaw || query.CheckRequest(op, nil) != nil {
		return fmt.Errorf("query: %q is not status, identify, counters or operations", op)
	}
	path := "/api/v1/stores/" + url.PathEscape(pos[0]) + "/devices/" + url.PathEscape(pos[1]) + "/query"
	if *tenant != "" {
		path += "?" + url.Values{"tenant": {*tenant}}.Encode()
	}
	body, _ := json.Marshal(query.Body{Op: op})
	status, resp, err := c.do(ctx, "POST", path, body)
	if err != nil {
		return err
	}
	var a query.Answer
	if json.Unmarshal(resp, &a) != nil || (a.Code == "" && !a.OK) {
		return c.failure(path, status, resp) // an API error, not a query answer
	}
	if *asJSON {
		_, err = stdout.Write(resp)
		if err == nil && !a.OK {
			err = fmt.Errorf("%s (%s)", a.Error, a.Code)
		}
		return err
	}
	d := query.Describe(a)
	if !a.OK {
		return fmt.Errorf("%s [%s, HTTP %d]", d.Headline, d.Code, status)
	}
	fmt.Fprintf(stdout, "%s/%s (agent %s): %s\n", a.Store, a.Device, a.Agent, d.Headline)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	for _, l := range d.Lines {
		fmt.Fprintf(tw, "  %s\t%s\n", l.Label, l.Value)
	}
	return tw.Flush()
}

// keys prints the hub's public key, creating the key pair if the hub has
// none yet, so agents can be configured before the hub's first start.
func keys(args []string, stdout, stderr io.Writer) error {
	fs := flags("keys", stderr)
	cfg, err := parseConfig(fs, configFlag(fs), args)
	if err != nil {
		return err
	}
	k, err := hub.SigningKey(cfg.Remote, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, k.PublicKey())
	return nil
}
