package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/enrol"
	"github.com/storewatch/storewatch/hub/profiles"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// call sends a request with a JSON body (nil: none) and decodes a 2xx
// answer into out (nil: ignored).
func (c Client) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	status, raw, err := c.Do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return c.Failure(path, status, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// CreateToken creates an enrolment token.
func (c Client) CreateToken(ctx context.Context, req enrol.TokenRequest) (enrol.CreatedToken, error) {
	var out enrol.CreatedToken
	err := c.call(ctx, "POST", "/api/v1/enrolment/tokens", req, &out)
	return out, err
}

// Tokens lists a tenant's enrolment tokens ("" every tenant's).
func (c Client) Tokens(ctx context.Context, tenant string) ([]store.EnrolToken, error) {
	path := "/api/v1/enrolment/tokens"
	if tenant != "" {
		path += "?" + url.Values{"tenant": {tenant}}.Encode()
	}
	var out []store.EnrolToken
	err := c.call(ctx, "GET", path, nil, &out)
	return out, err
}

// RevokeToken revokes an enrolment token by id.
func (c Client) RevokeToken(ctx context.Context, id string) (store.EnrolToken, error) {
	var out store.EnrolToken
	err := c.call(ctx, "DELETE", "/api/v1/enrolment/tokens/"+url.PathEscape(id), nil, &out)
	return out, err
}

// RevokeAgent revokes an enrolled agent.
func (c Client) RevokeAgent(ctx context.Context, id wire.AgentID) (store.AgentCredential, error) {
	var out store.AgentCredential
	err := c.call(ctx, "POST", "/api/v1/agents/"+url.PathEscape(id.Tenant)+"/"+url.PathEscape(id.Store)+"/"+url.PathEscape(id.Agent)+"/revoke", nil, &out)
	return out, err
}

// PrintTokens prints enrolment tokens as a table; now says which are
// still usable.
func PrintTokens(w io.Writer, ts []store.EnrolToken, now time.Time) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTENANT\tSTORES\tUSES\tEXPIRES\tSTATE\tNOTE")
	for _, t := range ts {
		uses := fmt.Sprintf("%d/%s", t.Uses, "-")
		if t.MaxUses > 0 {
			uses = fmt.Sprintf("%d/%d", t.Uses, t.MaxUses)
		}
		state := "usable"
		switch {
		case !t.RevokedAt.IsZero():
			state = "revoked"
		case !now.Before(t.ExpiresAt):
			state = "expired"
		case t.MaxUses > 0 && t.Uses >= t.MaxUses:
			state = "used up"
		}
		stores := t.StorePattern
		if stores == "" {
			stores = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Tenant, stores, uses, t.ExpiresAt.Local().Format("2006-01-02 15:04"), state,
			strings.ReplaceAll(t.Note, "\t", " "))
	}
	return tw.Flush()
}

// ParseAgentID reads tenant/store/agent.
func ParseAgentID(s string) (wire.AgentID, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return wire.AgentID{}, fmt.Errorf("%q: want TENANT/STORE/AGENT, such as acme/S0042/main", s)
	}
	id := wire.AgentID{Tenant: parts[0], Store: parts[1], Agent: parts[2]}
	return id, id.Validate()
}

// PutProfile sends a profile's YAML.
func (c Client) PutProfile(ctx context.Context, yamlDoc []byte) (profiles.Entry, error) {
	var out profiles.Entry
	status, raw, err := c.Do(ctx, "PUT", "/api/v1/profiles", yamlDoc)
	if err != nil {
		return out, err
	}
	if status != 200 {
		return out, c.Failure("/api/v1/profiles", status, raw)
	}
	return out, json.Unmarshal(raw, &out)
}

// Profiles lists a tenant's profiles ("" every tenant's).
func (c Client) Profiles(ctx context.Context, tenant string) ([]profiles.Entry, error) {
	path := "/api/v1/profiles"
	if tenant != "" {
		path += "?" + url.Values{"tenant": {tenant}}.Encode()
	}
	var out []profiles.Entry
	err := c.call(ctx, "GET", path, nil, &out)
	return out, err
}

// DeleteProfile deletes a profile.
func (c Client) DeleteProfile(ctx context.Context, tenant, name string) error {
	return c.call(ctx, "DELETE", "/api/v1/profiles/"+url.PathEscape(tenant)+"/"+url.PathEscape(name), nil, nil)
}

// SetProfileValues sets one store's values of a profile.
func (c Client) SetProfileValues(ctx context.Context, tenant, name, store string, values map[string]string) (profiles.Entry, error) {
	var out profiles.Entry
	err := c.call(ctx, "PUT", "/api/v1/profiles/"+url.PathEscape(tenant)+"/"+url.PathEscape(name)+"/values/"+url.PathEscape(store), values, &out)
	return out, err
}

// AgentConfig is the configuration the hub's profiles give an agent.
func (c Client) AgentConfig(ctx context.Context, id wire.AgentID) (api.AgentConfig, error) {
	var out api.AgentConfig
	err := c.call(ctx, "GET", "/api/v1/agents/"+url.PathEscape(id.Tenant)+"/"+url.PathEscape(id.Store)+"/"+url.PathEscape(id.Agent)+"/config", nil, &out)
	return out, err
}
