package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/storewatch/storewatch/hub/client"
	"github.com/storewatch/storewatch/internal/cli"
)

const profilesUsage = `usage: storehub profiles put FILE.yaml
       storehub profiles list [--tenant T]
       storehub profiles values TENANT/NAME STORE NAME=VALUE...
       storehub profiles delete TENANT/NAME
       storehub profiles show TENANT/STORE/AGENT`

// profilesCmd manages device profiles through the API.
func profilesCmd(ctx context.Context, args []string, std cli.Stdio) error {
	if len(args) == 0 {
		fmt.Fprintln(std.Err, profilesUsage)
		return errors.New("profiles: want put, list, values, delete or show")
	}
	fs := program.Flags("profiles "+args[0], std.Err)
	c := clientFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	tenant := fs.String("tenant", "", "only this tenant's (list)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	pos := fs.Args()
	switch {
	case args[0] == "put" && len(pos) == 1:
		doc, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		e, err := c().PutProfile(ctx, doc)
		if err != nil {
			return err
		}
		fmt.Fprintf(std.Out, "profile %s/%s revision %d stored; its stores' agents get their configuration now\n", e.Tenant, e.Name, e.Revision)
		return nil
	case args[0] == "list" && len(pos) == 0:
		es, err := c().Profiles(ctx, *tenant)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(std.Out).Encode(es)
		}
		tw := tabwriter.NewWriter(std.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROFILE\tREVISION\tSTORES\tAGENT\tSTORES WITH VALUES\tBY")
		for _, e := range es {
			agent := e.Agent
			if agent == "" {
				agent = "main"
			}
			fmt.Fprintf(tw, "%s/%s\t%d\t%s\t%s\t%d\t%s\n", e.Tenant, e.Name, e.Revision, strings.Join(e.Stores, ","), agent, len(e.Values), e.UpdatedBy)
		}
		return tw.Flush()
	case args[0] == "values" && len(pos) >= 3:
		t, name, ok := strings.Cut(pos[0], "/")
		if !ok {
			return fmt.Errorf("profiles values: %q: want TENANT/NAME", pos[0])
		}
		values := map[string]string{}
		for _, a := range pos[2:] {
			k, v, ok := strings.Cut(a, "=")
			if !ok || k == "" {
				return fmt.Errorf("profiles values: %q: want NAME=VALUE", a)
			}
			values[k] = v
		}
		e, err := c().SetProfileValues(ctx, t, name, pos[1], values)
		if err != nil {
			return err
		}
		fmt.Fprintf(std.Out, "profile %s/%s revision %d: values of store %s set\n", e.Tenant, e.Name, e.Revision, pos[1])
		return nil
	case args[0] == "delete" && len(pos) == 1:
		t, name, ok := strings.Cut(pos[0], "/")
		if !ok {
			return fmt.Errorf("profiles delete: %q: want TENANT/NAME", pos[0])
		}
		if err := c().DeleteProfile(ctx, t, name); err != nil {
			return err
		}
		fmt.Fprintf(std.Out, "profile %s deleted; the agents it applied to drop its devices\n", pos[0])
		return nil
	case args[0] == "show" && len(pos) == 1:
		id, err := client.ParseAgentID(pos[0])
		if err != nil {
			return err
		}
		ac, err := c().AgentConfig(ctx, id)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(std.Out).Encode(ac)
		}
		if !ac.Managed {
			fmt.Fprintf(std.Out, "no profile applies to %s: its devices are its agent.yaml's\n", id)
			return nil
		}
		fmt.Fprintf(std.Out, "# %s: configuration %s from %s\n%s", id, ac.Version, strings.Join(ac.Profiles, ", "), ac.Devices)
		if ac.Discovery != "" {
			fmt.Fprintf(std.Out, "# discovery: (the store networks the agent may scan)\n%s", ac.Discovery)
		}
		return nil
	}
	fmt.Fprintln(std.Err, profilesUsage)
	return fmt.Errorf("profiles %s: wrong arguments", args[0])
}
