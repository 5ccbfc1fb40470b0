// Package tickets writes what a helpdesk ticket says: titles and bodies per
// notification kind (opened, updated, resolved, closed, flapping, chronic,
// and a store-offline variant of opened), in the store's language, with the
// runbook steps for the fault on that kind of device.
//
// Its input is an Incident snapshot, filled by the hub's incident engine; it
// looks nothing up itself. Its output is a Ticket (language, one-line title,
// plain-text body) that helpdesk connectors send.
//
// Content ships embedded, one directory per language (content/en, de, ru):
//
//   - language.yaml: device kind names, remedy class texts, priority names,
//     the web console's words (console:, ConsoleKeys; Catalog.Sentence says
//     a timeline entry with them), and per fault code a title, a plain-language meaning and steps per
//     device kind ("default" for the rest): the diagnostic map.
//   - templates.tmpl: text/template {{define}}s named "<kind>.title" and
//     "<kind>.body" (see TemplateNames); the data is a View.
//
// An operator changes texts without rebuilding: Config.Dir is laid over the
// shipped content (a redefined template or a given text replaces the
// shipped one; a new directory adds a language, which must be complete), and
// Config.Tenants[t].Runbooks replaces fault texts and steps for one tenant.
// Load checks everything at start-up: every language must name every device
// kind and remedy class and give a title, a meaning and default steps for
// every code in wire.Vocabulary, and define every template.
//
// Use:
//
//	cat, err := tickets.Load(cfg)             // once, at start-up
//	t, err := cat.Render(tickets.Opened, inc, "") // "" = the store's language
package tickets
