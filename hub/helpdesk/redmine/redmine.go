package redmine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/storewatch/storewatch/hub/helpdesk"
)

// Connector is the connector for Redmine's REST API (JSON, X-Redmine-API-Key).
//
// Idempotent creation: every ticket carries its external id in a custom
// field, and Open searches for it first with
// GET /issues.json?status_id=*&cf_N==<id>: status_id=* because Redmine lists
// only open issues otherwise (a closed ticket would be missed and a second
// one created), and "==" because a bare "=" value would be parsed as an
// operator when it begins with one of ! ~ ^ *. The search covers all
// projects, so a ticket a person moved elsewhere is still found. Results are
// checked field by field: a Redmine that ignores the filter (the field is not
// "used as a filter") returns other issues, and that is reported as a
// configuration error instead of silently creating duplicates.
type Connector struct {
	cfg    Config
	base   *url.URL
	client *http.Client
}

// New builds the connector from validated settings.
func New(cfg Config) (*Connector, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("redmine url: %w", err)
	}
	return &Connector{cfg: cfg, base: u, client: &http.Client{Timeout: cfg.Timeout}}, nil
}

type redmineIssue struct {
	ID           int                  `json:"id"`
	Status       redmineStatus        `json:"status"`
	CustomFields []redmineCustomValue `json:"custom_fields"`
}

type redmineStatus struct {
	ID       int  `json:"id"`
	IsClosed bool `json:"is_closed"`
}

type redmineCustomValue struct {
	ID    int             `json:"id"`
	Value json.RawMessage `json:"value"` // a string, null, or a list for multi-value fields
}

// values returns a custom field's value(s) as strings.
func (v redmineCustomValue) values() []string {
	var one string
	if json.Unmarshal(v.Value, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(v.Value, &many)
	return many
}

// parseRedmineIssue reads the answer to GET /issues/N.json or POST
// /issues.json: {"issue": {...}}.
func parseRedmineIssue(body []byte) (redmineIssue, error) {
	var env struct {
		Issue *redmineIssue `json:"issue"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return redmineIssue{}, fmt.Errorf("redmine: not an issue: %w", err)
	}
	if env.Issue == nil || env.Issue.ID <= 0 {
		return redmineIssue{}, errors.New("redmine: the answer has no issue id")
	}
	return *env.Issue, nil
}

// parseRedmineIssues reads the answer to GET /issues.json:
// {"issues": [...], "total_count": N}.
func parseRedmineIssues(body []byte) ([]redmineIssue, error) {
	var env struct {
		Issues *[]redmineIssue `json:"issues"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("redmine: not an issue list: %w", err)
	}
	if env.Issues == nil {
		return nil, errors.New("redmine: the answer has no issue list")
	}
	for _, is := range *env.Issues {
		if is.ID <= 0 {
			return nil, errors.New("redmine: an issue in the list has no id")
		}
	}
	return *env.Issues, nil
}

// parseRedmineErrors reads a 422 answer: {"errors": ["Subject cannot be blank"]}.
func parseRedmineErrors(body []byte) string {
	var env struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Errors) == 0 {
		return strings.TrimSpace(string(body))
	}
	return strings.Join(env.Errors, "; ")
}

func (r *Connector) do(ctx context.Context, method, path string, query url.Values, payload any) (*http.Response, []byte, error) {
	u := r.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var body io.Reader
	if payload != nil {
		data, err := json.Marshal(payload)
		if err != nil {
			return nil, nil, helpdesk.Permanent(err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, nil, helpdesk.Permanent(err)
	}
	req.Header.Set("X-Redmine-API-Key", r.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "storewatch-hub")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("redmine %s %s: %w", method, u.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, helpdesk.MaxResponse))
	if err != nil {
		return resp, nil, fmt.Errorf("redmine %s %s: reading the answer: %w", method, u.Path, err)
	}
	return resp, data, nil
}

func (r *Connector) issueURL(id int) string {
	return r.base.JoinPath("issues", strconv.Itoa(id)).String()
}

// find returns the issue carrying externalID, if there is one.
func (r *Connector) find(ctx context.Context, externalID string) (helpdesk.Ticket, bool, error) {
	cf := r.cfg.CustomFields.ExternalID
	q := url.Values{"status_id": {"*"}, "cf_" + strconv.Itoa(cf): {"=" + externalID}, "limit": {"10"}, "sort": {"id"}}
	resp, body, err := r.do(ctx, http.MethodGet, "issues.json", q, nil)
	if err != nil {
		return helpdesk.Ticket{}, false, err
	}
	if resp.StatusCode != http.StatusOK {
		return helpdesk.Ticket{}, false, helpdesk.HTTPStatusError("redmine search", resp, body)
	}
	issues, err := parseRedmineIssues(body)
	if err != nil {
		return helpdesk.Ticket{}, false, err
	}
	var ids []int
	for _, is := range issues {
		for _, v := range is.CustomFields {
			if v.ID == cf && slices.Contains(v.values(), externalID) {
				ids = append(ids, is.ID)
			}
		}
	}
	if len(ids) == 0 {
		if len(issues) > 0 {
			return helpdesk.Ticket{}, false, helpdesk.Permanent(fmt.Errorf("redmine search by custom field %d returned issues without our id: "+
				"Redmine ignores the filter; make the field \"Used as a filter\" and visible to the API user", cf))
		}
		return helpdesk.Ticket{}, false, nil
	}
	slices.Sort(ids) // duplicates from an older bug or a manual copy: keep to the first
	return helpdesk.Ticket{ID: strconv.Itoa(ids[0]), URL: r.issueURL(ids[0])}, true, nil
}

// Open finds the ticket by its external id or creates it.
func (r *Connector) Open(ctx context.Context, c helpdesk.Call) (helpdesk.Ticket, error) {
	if t, ok, err := r.find(ctx, c.ExternalID); err != nil || ok {
		return t, err
	}
	in := c.Incident
	issue := map[string]any{
		"project_id":  r.project(c.Route),
		"tracker_id":  r.cfg.TrackerID,
		"subject":     truncate(c.Text.Title, 255),
		"description": c.Text.Body,
	}
	if p, ok := r.cfg.Priorities[in.Priority]; ok {
		issue["priority_id"] = p
	}
	if id, ok := r.cfg.Assignees[c.Route.AssigneeGroup]; ok {
		issue["assigned_to_id"] = id
	}
	fields := []map[string]any{{"id": r.cfg.CustomFields.ExternalID, "value": c.ExternalID}}
	model := strings.TrimSpace(in.Identity.Vendor + " " + in.Identity.Model)
	for _, f := range []struct {
		id    int
		value string
	}{
		{r.cfg.CustomFields.Store, in.Store},
		{r.cfg.CustomFields.Device, in.Device},
		{r.cfg.CustomFields.Serial, in.Identity.Serial},
		{r.cfg.CustomFields.Model, model},
		{r.cfg.CustomFields.Fault, string(in.Fault)},
	} {
		if f.id > 0 && f.value != "" {
			fields = append(fields, map[string]any{"id": f.id, "value": truncate(f.value, 255)})
		}
	}
	issue["custom_fields"] = fields
	resp, body, err := r.do(ctx, http.MethodPost, "issues.json", nil, map[string]any{"issue": issue})
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK:
	case http.StatusUnprocessableEntity:
		return helpdesk.Ticket{}, helpdesk.Permanent(fmt.Errorf("redmine refused the issue: %s", parseRedmineErrors(body)))
	default:
		return helpdesk.Ticket{}, helpdesk.HTTPStatusError("redmine create", resp, body)
	}
	is, err := parseRedmineIssue(body)
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	return helpdesk.Ticket{ID: strconv.Itoa(is.ID), URL: r.issueURL(is.ID)}, nil
}

func (r *Connector) project(d helpdesk.Destination) any {
	p := r.cfg.Project
	if d.Project != "" {
		p = d.Project
	}
	if n, err := strconv.Atoi(p); err == nil {
		return n
	}
	return p
}

// Post adds a note and sets the status the call asks for. Redmine answers
// 204 to a status change its workflow does not allow and changes nothing,
// so a status change is read back and a refusal reported.
func (r *Connector) Post(ctx context.Context, t helpdesk.Ticket, c helpdesk.Call) error {
	issue := map[string]any{"notes": c.Text.Title + "\n\n" + c.Text.Body}
	want := 0
	switch c.Status {
	case helpdesk.StatusResolved:
		want = r.cfg.Statuses.Resolved
	case helpdesk.StatusClosed:
		want = r.cfg.Statuses.Closed
	}
	if want > 0 {
		issue["status_id"] = want
	}
	resp, body, err := r.do(ctx, http.MethodPut, "issues/"+t.ID+".json", nil, map[string]any{"issue": issue})
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK:
	case http.StatusUnprocessableEntity:
		return helpdesk.Permanent(fmt.Errorf("redmine refused the update of #%s: %s", t.ID, parseRedmineErrors(body)))
	default:
		return helpdesk.HTTPStatusError("redmine update #"+t.ID, resp, body)
	}
	if want == 0 {
		return nil
	}
	is, err := r.issue(ctx, t)
	if err != nil {
		return err
	}
	if is.Status.ID != want {
		return helpdesk.Permanent(fmt.Errorf("redmine kept #%s at status %d instead of %d: the workflow of its tracker does not let the API user make that change", t.ID, is.Status.ID, want))
	}
	return nil
}

var errNoIssue = errors.New("redmine: no such issue")

func (r *Connector) issue(ctx context.Context, t helpdesk.Ticket) (redmineIssue, error) {
	resp, body, err := r.do(ctx, http.MethodGet, "issues/"+t.ID+".json", nil, nil)
	if err != nil {
		return redmineIssue{}, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return parseRedmineIssue(body)
	case http.StatusNotFound:
		return redmineIssue{}, helpdesk.Permanent(fmt.Errorf("#%s: %w", t.ID, errNoIssue))
	}
	return redmineIssue{}, helpdesk.HTTPStatusError("redmine issue #"+t.ID, resp, body)
}

// State reads the issue's status: the configured resolved status, a
// rejection, another closed status, or open; a deleted issue is StateDeleted.
func (r *Connector) State(ctx context.Context, t helpdesk.Ticket) (helpdesk.State, error) {
	is, err := r.issue(ctx, t)
	if errors.Is(err, errNoIssue) {
		return helpdesk.StateDeleted, nil
	}
	if err != nil {
		return helpdesk.StateUnknown, err
	}
	switch {
	case is.Status.ID == r.cfg.Statuses.Resolved:
		return helpdesk.StateResolved, nil
	case slices.Contains(r.cfg.Statuses.Rejected, is.Status.ID):
		return helpdesk.StateRejected, nil
	case is.Status.IsClosed:
		return helpdesk.StateClosed, nil
	}
	return helpdesk.StateOpen, nil
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
