package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"

	"github.com/storewatch/storewatch/hub/client"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/wire"
)

// clientFlags adds --api and --token; the client is ready once the flags
// are parsed.
func clientFlags(fs *flag.FlagSet) func() client.Client {
	api := fs.String("api", envOr("STOREHUB_API", "http://127.0.0.1:8080"), "hub API address (or STOREHUB_API)")
	fs.StringVar(api, "hub", *api, "the same as --api")
	token := fs.String("token", os.Getenv("STOREHUB_TOKEN"), "bearer token (or STOREHUB_TOKEN)")
	return func() client.Client { return client.Client{API: *api, Token: *token} }
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// list is the client command that lists incidents, devices or stores.
func list(what string) func(ctx context.Context, args []string, std cli.Stdio) error {
	return func(ctx context.Context, args []string, std cli.Stdio) error {
		fs := program.Flags(what, std.Err)
		c := clientFlags(fs)
		asJSON := fs.Bool("json", false, "print JSON")
		filters := map[string]*string{}
		for _, n := range client.Filters[what] {
			filters[n] = fs.String(n, "", "filter by "+n)
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		q := url.Values{}
		for n, v := range filters {
			if *v != "" {
				q.Set(n, *v)
			}
		}
		listing, err := c().List(ctx, what, q)
		if err != nil {
			return err
		}
		if *asJSON {
			_, err = std.Out.Write(listing)
			return err
		}
		cl := c()
		return client.PrintOnClock(std.Out, what, listing, cl.StoreClock(ctx))
	}
}

// queryCmd asks a device's agent through the API and prints the answer.
func queryCmd(ctx context.Context, args []string, std cli.Stdio) error {
	stderr := std.Err
	fs := program.Flags("query", stderr)
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
	raw, a, status, err := c().Query(ctx, *tenant, pos[0], pos[1], op)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err = std.Out.Write(raw)
		if err == nil && !a.OK {
			err = fmt.Errorf("%s (%s)", a.Error, a.Code)
		}
		return err
	}
	if !a.OK {
		d := query.Describe(a)
		return fmt.Errorf("%s [%s, HTTP %d]", d.Headline, d.Code, status)
	}
	return client.PrintAnswer(std.Out, a)
}
