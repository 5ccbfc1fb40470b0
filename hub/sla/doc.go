// Package sla counts contract hours. A Calendar is a weekly schedule of
// working hours (the same notation as store trading hours), a time zone, and
// holidays; Add finds when a response or resolution target expressed in
// working hours falls due, in the store's own time zone unless the calendar
// names another. Targets maps a ticket priority to its two clocks.
package sla
