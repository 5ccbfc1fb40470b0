// Package notify is the bridge from the incident engine to external
// helpdesks. The engine writes every incident lifecycle change (opened,
// updated, resolved, closed, flapping, chronic) into the store's durable
// notification stream, in the same transaction as the change; a Bridge
// follows that stream from its cursor, turns each entry into a
// helpdesk.Delivery with a complete tickets.Brief (store, device,
// fault, remedy, priority and SLA due, how often the fault happened in the
// last 30 days on the device and on its model, a link into the console),
// hands it to the helpdesk outbox, and only then moves its cursor. Delivery
// is at least once: after a crash the last batch is handed over again, and
// the outbox drops what it has already (an opening call of a ticket that
// exists, a note identical to one posted, anything for a closed ticket).
//
// Feedback goes the other way: the outbox tells it that a helpdesk ticket
// exists (shown on the incident and in its timeline) or that a person
// closed it in the helpdesk (the incident closes, and its fault opens
// nothing more until it clears and comes back).
//
// The hub runs a Bridge only when its configuration has a helpdesk:
// section; without one, incidents stay in the built-in ticket list.
package notify
