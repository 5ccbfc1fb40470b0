// Package email is the helpdesk connector that sends tickets as mail (type:
// email): a plain-text mail per call, threaded by Message-ID. README.md has
// the headers and the field mapping.
package email
