// Package redmine is the helpdesk connector for Redmine (type: redmine):
// one issue per ticket through Redmine's REST API, found again by a custom
// field before every create, notes and statuses for later calls, and the
// issue's state read back so a person's close is respected. README.md has
// the API it uses, the field mapping and the Redmine setup.
package redmine
