//go:build unix

package helpdesk

import (
	"strconv"
	"testing"
)

// For hub_test.go (package helpdesk_test), which runs a whole hub against
// this test binary's shared Redmine instead of starting a second one.

// RedmineIssue is an issue as the tests' own Redmine client reads it.
type RedmineIssue = adminIssue

// RedmineStatus returns the id of a Redmine status by name.
func RedmineStatus(t *testing.T, name string) int { return needRedmine(t).status(t, name) }

// RedmineTestConfig needs the shared Redmine and returns a helpdesk section
// delivering everything to it, in a namespace of its own.
func RedmineTestConfig(t *testing.T) Config {
	return redmineConfig(t, needRedmine(t), needRedmine(t).URL)
}

// RedmineIssues lists every issue carrying an external id, read without
// the connector's search.
func RedmineIssues(t *testing.T, externalID string) []RedmineIssue {
	return admin{env: needRedmine(t)}.issuesWith(t, externalID)
}

// RedminePerson does to an issue what a person does in Redmine's web UI:
// body is the issue's JSON changes.
func RedminePerson(t *testing.T, issue int, body map[string]any) {
	env := needRedmine(t)
	admin{env: env, as: env.Person}.do(t, "PUT", "/issues/"+strconv.Itoa(issue)+".json", map[string]any{"issue": body})
}
