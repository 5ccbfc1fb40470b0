package client

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/query"
)

// tables print each listing, with times on the hub's store clock.
var tables = map[string]func(tw io.Writer, listing []byte, clock incident.TimeScale) error{
	"incidents": printIncidents,
	"devices":   func(tw io.Writer, l []byte, _ incident.TimeScale) error { return printDevices(tw, l) },
	"stores":    func(tw io.Writer, l []byte, _ incident.TimeScale) error { return printStores(tw, l) },
	"agents":    func(tw io.Writer, l []byte, _ incident.TimeScale) error { return printAgents(tw, l) },
}

// Print prints a listing (List's JSON) of incidents, devices or stores as a
// table.
func Print(w io.Writer, what string, listing []byte) error {
	return PrintOnClock(w, what, listing, incident.TimeScale{})
}

// PrintOnClock prints a listing with its times on a hub's store clock
// (Client.StoreClock): the demo's compressed day says the store times the
// console says.
func PrintOnClock(w io.Writer, what string, listing []byte, clock incident.TimeScale) error {
	table, ok := tables[what]
	if !ok {
		return fmt.Errorf("no table for %q", what)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	err := table(tw, listing, clock)
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	return err
}

func printIncidents(tw io.Writer, listing []byte, clock incident.TimeScale) error {
	var xs []incident.Incident
	if err := json.Unmarshal(listing, &xs); err != nil {
		return err
	}
	fmt.Fprintln(tw, "ID\tP\tSTATE\tSTORE\tDEVICE\tFAULT\tMODEL\tSERIAL\tOPENED\tFLAGS")
	for _, x := range xs {
		flags := []string{}
		if x.Flapping {
			flags = append(flags, "flapping")
		}
		if x.Kind != incident.KindFault {
			flags = append(flags, string(x.Kind))
		}
		fmt.Fprintf(tw, "%s\tP%d\t%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, x.Priority, x.State, x.Tenant, x.Store, x.Device,
			x.Fault, x.Facts.Model, x.Facts.Serial, StoreTime(clock.At(x.OpenedAt), x.Facts.TimeZone), strings.Join(flags, ","))
	}
	return nil
}

// StoreTime writes t as the store's clock showed it, with the zone: the
// rule the console follows too ("2026-12-07 08:18 CET"). A store without a
// known zone is shown in UTC.
func StoreTime(t time.Time, zone string) string {
	if t.IsZero() {
		return ""
	}
	return t.In(incident.Zone(zone)).Format("2006-01-02 15:04 MST")
}

func printDevices(tw io.Writer, listing []byte) error {
	var xs []incident.DeviceRecord
	if err := json.Unmarshal(listing, &xs); err != nil {
		return err
	}
	fmt.Fprintln(tw, "STORE\tDEVICE\tKIND\tLOCATION\tSTATE\tMODEL\tSERIAL\tFAULTS")
	for _, x := range xs {
		var codes []string
		for _, f := range x.Faults {
			codes = append(codes, string(f.Code))
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Tenant, x.Store, x.ID, x.Kind, x.Location, x.State,
			x.Identity.Model, x.Identity.Serial, strings.Join(codes, ","))
	}
	return nil
}

func printStores(tw io.Writer, listing []byte) error {
	var xs []incident.StoreRecord
	if err := json.Unmarshal(listing, &xs); err != nil {
		return err
	}
	fmt.Fprintln(tw, "STORE\tNAME\tTIMEZONE\tAGENTS\tADDRESS")
	for _, x := range xs {
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\n", x.Tenant, x.Store, x.Info.Name, x.Info.TimeZone, strings.Join(x.Agents, ","), x.Info.Address)
	}
	return nil
}

// PrintAnswer prints a successful query answer: a headline and the
// answer's lines.
func PrintAnswer(w io.Writer, a query.Answer) error {
	d := query.Describe(a)
	fmt.Fprintf(w, "%s/%s (agent %s): %s\n", a.Store, a.Device, a.Agent, d.Headline)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, l := range d.Lines {
		fmt.Fprintf(tw, "  %s\t%s\n", l.Label, l.Value)
	}
	return tw.Flush()
}
