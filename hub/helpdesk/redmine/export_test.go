//go:build unix

package redmine

import (
	"strconv"
	"testing"

	"github.com/storewatch/storewatch/hub/helpdesk"
)

// For hub_test.go (package redmine_test), which runs a whole hub against
// this test binary's shared Redmine instead of starting a second one.

// Issue is an issue as the tests' own Redmine client reads it.
type Issue = adminIssue

// Status returns the id of a Redmine status by name.
func Status(t *testing.T, name string) int { return needRedmine(t).status(t, name) }

// SharedConfig needs the shared Redmine and returns a helpdesk section
// delivering everything to it, in a namespace of its own.
func SharedConfig(t *testing.T) helpdesk.Config {
	return redmineConfig(t, needRedmine(t), needRedmine(t).URL)
}

// Issues lists every issue carrying an external id, read without the
// connector's search.
func Issues(t *testing.T, externalID string) []Issue {
	return admin{env: needRedmine(t)}.issuesWith(t, externalID)
}

// Person does to an issue what a person does in Redmine's web UI: body is
// the issue's JSON changes.
func Person(t *testing.T, issue int, body map[string]any) {
	env := needRedmine(t)
	admin{env: env, as: env.Person}.do(t, "PUT", "/issues/"+strconv.Itoa(issue)+".json", map[string]any{"issue": body})
}
