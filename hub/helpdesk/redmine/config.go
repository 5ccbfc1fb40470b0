package redmine

import (
	"strconv"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
)

func init() {
	helpdesk.Register(helpdesk.Info{
		Name:        "redmine",
		Description: "Redmine's REST API: an issue per ticket, found again by a custom field, two-way (a person's close is respected)",
		Settings:    func() helpdesk.Settings { return &Config{} },
	})
}

// Config is a Redmine helpdesk's settings (its redmine: section): where
// Redmine is and how tickets map onto it.
type Config struct {
	URL    string `yaml:"url"`     // https://redmine.example.com (a sub-path is kept)
	APIKey string `yaml:"api_key"` // a user's API key; prefer ${ENV} in the file
	// Project is the default project (identifier or numeric id); a routing
	// rule's project overrides it.
	Project   string `yaml:"project"`
	TrackerID int    `yaml:"tracker_id"`
	// Priorities maps storewatch priorities (1 critical ... 5 planning) to
	// Redmine priority ids (instance-specific: GET /enumerations/issue_priorities.json).
	Priorities map[int]int `yaml:"priorities"`
	// CustomFields are Redmine custom field ids. external_id is required: a
	// string field, enabled for the tracker, "used as a filter", that the
	// outbox searches before every create.
	CustomFields Fields `yaml:"custom_fields"`
	// Statuses are the instance's status ids (GET /issue_statuses.json).
	Statuses Statuses `yaml:"statuses"`
	// Assignees maps routing assignee groups to Redmine user or group ids
	// (assigning to groups needs Redmine's "Allow issue assignment to
	// groups").
	Assignees map[string]int `yaml:"assignees"`
	Timeout   time.Duration  `yaml:"timeout"` // per request; default 30s
}

// Fields are custom field ids; 0 leaves a field out.
type Fields struct {
	ExternalID int `yaml:"external_id"`
	Store      int `yaml:"store"`
	Device     int `yaml:"device"`
	Serial     int `yaml:"serial"`
	Model      int `yaml:"model"`
	Fault      int `yaml:"fault"`
}

// Statuses are the status ids the outbox sets and recognises.
type Statuses struct {
	// Resolved is set when a device recovered and the incident's policy
	// says close ("Resolved", 3, on a default install). Required.
	Resolved int `yaml:"resolved"`
	// Closed is set when the incident is closed in the hub ("Closed", 5).
	// Required.
	Closed int `yaml:"closed"`
	// Rejected lists statuses that mean a person rejected the ticket
	// ("Rejected", 6); any other closed status set by a person counts as
	// closed.
	Rejected []int `yaml:"rejected"`
}

// Validate applies the defaults and reports every mistake (helpdesk.Settings).
func (r *Config) Validate(bad func(path, format string, args ...any)) {
	if r.Timeout == 0 {
		r.Timeout = 30 * time.Second
	}
	if err := helpdesk.CheckURL(r.URL); err != nil {
		bad("url", "%v", err)
	}
	if r.APIKey == "" {
		bad("api_key", "required: the API key of the user storewatch acts as (My account → API access key)")
	}
	if r.Project == "" {
		bad("project", "required: the default project's identifier or id")
	}
	if r.TrackerID <= 0 {
		bad("tracker_id", "required: the tracker id for new tickets")
	}
	if r.CustomFields.ExternalID <= 0 {
		bad("custom_fields.external_id", "required: the id of a string custom field \"External ID\", used as a filter; without it a retry could open a second ticket")
	}
	if r.Statuses.Resolved <= 0 {
		bad("statuses.resolved", "required: the status id set when a device recovered (\"Resolved\" is 3 on a default install)")
	}
	if r.Statuses.Closed <= 0 {
		bad("statuses.closed", "required: the status id set when the hub closes an incident (\"Closed\" is 5 on a default install)")
	}
	for k, v := range r.Priorities {
		if k < 1 || k > 5 || v <= 0 {
			bad("priorities."+strconv.Itoa(k), "map priorities 1..5 to Redmine priority ids")
		}
	}
	if r.Timeout < 0 {
		bad("timeout", "must not be negative")
	}
}

// CheckTarget checks a routing target's assignee group against the
// configured assignees (helpdesk.Settings). The project is any Redmine
// project identifier or id, which only Redmine can check.
func (r *Config) CheckTarget(t helpdesk.Target, bad func(path, format string, args ...any)) {
	if t.AssigneeGroup == "" {
		return
	}
	if _, ok := r.Assignees[t.AssigneeGroup]; !ok {
		bad("assignee_group", "%q is not under helpdesk %s's redmine.assignees", t.AssigneeGroup, t.Helpdesk)
	}
}

// Connector builds the Redmine connector (helpdesk.Settings).
func (r *Config) Connector() (helpdesk.Connector, error) { return New(*r) }
