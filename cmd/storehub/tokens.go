package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/storewatch/storewatch/hub/client"
	"github.com/storewatch/storewatch/hub/enrol"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/wire"
)

const tokensUsage = `usage: storehub tokens create --tenant T [--stores PATTERN] [--expires 168h] [--uses N] [--note TEXT]
       storehub tokens list [--tenant T]
       storehub tokens revoke ID`

// tokensCmd manages enrolment tokens through the API (an admin token).
func tokensCmd(ctx context.Context, args []string, std cli.Stdio) error {
	if len(args) == 0 {
		fmt.Fprintln(std.Err, tokensUsage)
		return errors.New("tokens: want create, list or revoke")
	}
	fs := program.Flags("tokens "+args[0], std.Err)
	c := clientFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	switch args[0] {
	case "create":
		var req enrol.TokenRequest
		fs.StringVar(&req.Tenant, "tenant", "", "the tenant (retail chain) the token enrols into (required)")
		fs.StringVar(&req.Stores, "stores", "", "pattern of the store ids it may enrol, such as S0* (default: any)")
		fs.StringVar(&req.ExpiresIn, "expires", "168h", "how long it is valid")
		fs.IntVar(&req.Uses, "uses", 0, "how many PCs it may enrol (0: any number until it expires)")
		fs.StringVar(&req.Note, "note", "", "what it is for, for the list")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if req.Tenant == "" {
			return errors.New("tokens create: --tenant is required")
		}
		t, err := c().CreateToken(ctx, req)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(std.Out).Encode(t)
		}
		stores := t.StorePattern
		if stores == "" {
			stores = "any store"
		}
		uses := "any number of PCs"
		if t.MaxUses > 0 {
			uses = fmt.Sprintf("%d PCs", t.MaxUses)
		}
		fmt.Fprintf(std.Out, "%s\n\nid %s: enrols %s of tenant %s, %s, until %s. It is shown only now.\n", t.Token, t.ID, stores, t.Tenant, uses,
			t.ExpiresAt.Local().Format("2006-01-02 15:04 MST"))
		fmt.Fprintf(std.Out, "On a store PC:  storeagent enroll --hub %s --token %s --store STORE\n", c().API, t.Token)
		return nil
	case "list":
		tenant := fs.String("tenant", "", "only this tenant's")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		ts, err := c().Tokens(ctx, *tenant)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(std.Out).Encode(ts)
		}
		return client.PrintTokens(std.Out, ts, time.Now())
	case "revoke":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("tokens revoke: want the token's ID (storehub tokens list shows it)")
		}
		t, err := c().RevokeToken(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(std.Out, "token %s revoked; the %d PCs it enrolled stay enrolled\n", t.ID, t.Uses)
		return nil
	}
	fmt.Fprintln(std.Err, tokensUsage)
	return fmt.Errorf("tokens: unknown action %q", args[0])
}

// agentsRevoke revokes an enrolled agent.
func agentsRevoke(ctx context.Context, args []string, std cli.Stdio) error {
	fs := program.Flags("agents revoke", std.Err)
	c := clientFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("agents revoke: want TENANT/STORE/AGENT")
	}
	id, err := client.ParseAgentID(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("agents revoke: %w", err)
	}
	cr, err := c().RevokeAgent(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(std.Out, "agent %s revoked at %s: the broker disconnected it and refuses it; enrol the store's PC again with a new token to admit it\n",
		wire.AgentID{Tenant: cr.Tenant, Store: cr.Store, Agent: cr.Agent}, cr.RevokedAt.Local().Format("2006-01-02 15:04"))
	return nil
}

// agentsCmd lists the fleet, or revokes an agent (agents revoke ID).
func agentsCmd(ctx context.Context, args []string, std cli.Stdio) error {
	if len(args) > 0 && args[0] == "revoke" {
		return agentsRevoke(ctx, args[1:], std)
	}
	for i, a := range args { // --behind alone means --behind=true
		if a == "--behind" || a == "-behind" {
			args[i] = "--behind=true"
		}
	}
	return list("agents")(ctx, args, std)
}
