// Package webhook is the helpdesk connector for any receiver of Standard
// Webhooks (type: webhook): every call as signed JSON to one URL. README.md
// has the headers, the payload and its fields.
package webhook
