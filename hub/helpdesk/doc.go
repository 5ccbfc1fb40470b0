// Package helpdesk delivers incident notifications to external helpdesks:
// it routes each incident occurrence to a helpdesk (or to none: the hub's
// built-in ticket list), renders the ticket text with package tickets, and
// sends it through a persistent outbox to a connector.
//
// This package is the shared part: the outbox, the routing, the section's
// configuration and the two seams a connector fills, Connector (Open, Post,
// State) and Settings (its section of the configuration). The connectors
// live in folders of their own, as the drivers do, and register their type
// by name in init: hub/helpdesk/redmine, hub/helpdesk/webhook (Standard
// Webhooks: Zammad, GLPI, Jira, a dispatch partner) and hub/helpdesk/email;
// hub/helpdesk/all links them all. A helpdesk's type in the configuration
// names the connector, and its settings are the section of that name.
//
// Wiring it into the hub is short:
//
//	cat, _ := tickets.Load(hubCfg.Tickets)
//	out, _ := helpdesk.Open(hubCfg.Helpdesk, cat, helpdesk.Options{Feedback: engine})
//	go out.Run(ctx)
//	// on every incident lifecycle event:
//	out.Enqueue(ctx, helpdesk.Delivery{Incident: brief, Kind: tickets.Opened, Occurrence: "3"})
//	// for the API: out.DeadLetters(), out.Retry(seq), out.Discard(seq), out.Ticket(key, occ)
//
// Feedback (two methods) tells the hub when a ticket exists and when a
// person closed, rejected or deleted it in the helpdesk.
//
// Guarantees:
//
//   - Enqueue returns once the call is in the bbolt file; nothing is lost
//     across restarts or helpdesk outages. Failures are retried with
//     exponential backoff and jitter (honouring Retry-After); a call that
//     is refused (4xx) or keeps failing past GiveUpAfter goes to the
//     dead-letter list.
//   - Calls of one ticket are delivered one at a time, in order; different
//     tickets proceed in parallel.
//   - Creation is idempotent: each ticket carries a deterministic external
//     id (ExternalID); Open searches the helpdesk for it before creating,
//     and the helpdesk's id is stored, with the call's removal, in one
//     transaction right after. A crash between the create and that
//     transaction leads, after restart, to the search finding the ticket.
//   - No spam: updates wait at least UpdateInterval after the last note and
//     merge while they wait; a resolve or close drops waiting updates; a
//     note identical to one already posted is not posted again.
//   - Resolve per policy: a resolved incident with AutoClose sets the
//     helpdesk's resolved status, otherwise only comments; a closed
//     incident sets the closed status.
//   - Two-way (connectors that can look, such as Redmine): before posting, and every SyncInterval for open
//     tickets, the ticket's state is read; a ticket a person closed,
//     rejected, resolved or deleted gets nothing more for that occurrence
//     (never reopened) and Feedback hears of it.
//
// Configuration (Config) is YAML with strict field names, meant to sit in the
// hub's file under "helpdesk:" (Config.Decode reads it from there);
// Validate lists every mistake with its path. docs/helpdesk.md describes the
// configuration; each connector's README its settings and what it sends.
package helpdesk
