package redmine

import (
	"testing"

	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
)

const minimal = "url: 'https://r', api_key: k, project: p, tracker_id: 1, custom_fields: {external_id: 7}, statuses: {resolved: 3, closed: 5}"

func TestConfigMistakes(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"without external id", "helpdesks: [{name: a, type: redmine, redmine: {url: 'https://r', api_key: k, project: p, tracker_id: 1, statuses: {resolved: 3, closed: 5}}}]\noutbox: {path: x}",
			"helpdesks[0].redmine.custom_fields.external_id: required"},
		{"without statuses", "helpdesks: [{name: a, type: redmine, redmine: {url: 'https://r', api_key: k, project: p, tracker_id: 1, custom_fields: {external_id: 7}}}]\noutbox: {path: x}",
			"helpdesks[0].redmine.statuses.resolved: required"},
		{"a priority out of range", "helpdesks: [{name: a, type: redmine, redmine: {" + minimal + ", priorities: {9: 1}}}]\noutbox: {path: x}",
			"helpdesks[0].redmine.priorities.9: map priorities 1..5"},
		{"an unknown assignee group", "helpdesks: [{name: a, type: redmine, redmine: {" + minimal + ", assignees: {first-line: 12}}}]\nrouting: {default: {helpdesk: a, assignee_group: second-line}}\noutbox: {path: x}",
			`routing.default.assignee_group: "second-line" is not under helpdesk a's redmine.assignees`},
	} {
		helpdesktest.WantMistake(t, tc.name, tc.yaml, tc.want)
	}
}
