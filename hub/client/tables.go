package client

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/query"
)

// tables print each listing.
var tables = map[string]func(tw io.Writer, listing []byte) error{
	"incidents": printIncidents,
	"devices":   printDevices,
	"stores":    printStores,
	"agents":    printAgents,
}

// Print prints a listing (List's JSON) of incidents, devices or stores as a
// table.
func Print(w io.Writer, what string, listing []byte) error {
	table, ok := tables[what]
	if !ok {
		return fmt.Errorf("no table for %q", what)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	err := table(tw, listing)
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	return err
}

func printIncidents(tw io.Writer, listing []byte) error {
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
			x.Fault, x.Facts.Model, x.Facts.Serial, x.OpenedAt.Local().Format("2006-01-02 15:04"), strings.Join(flags, ","))
	}
	return nil
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
