package client

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/api"
)

// printAgents prints the fleet view: one line per agent, and under an
// agent that is behind, why.
func printAgents(tw io.Writer, listing []byte) error {
	var xs []api.AgentView
	if err := json.Unmarshal(listing, &xs); err != nil {
		return err
	}
	fmt.Fprintln(tw, "AGENT\tSTATE\tVERSION\tOS\tCONFIG\tLAST SEEN\tBACKLOG\tENROLLED")
	now := time.Now()
	for _, x := range xs {
		state := "offline"
		switch {
		case x.Enrolment != nil && x.Enrolment.Revoked():
			state = "revoked"
		case x.Online:
			state = "online"
		case x.LastSeen.IsZero():
			state = "not seen yet"
		}
		config, backlog := "-", "-"
		if hb := x.Heartbeat; hb != nil {
			backlog = fmt.Sprint(hb.OutboxDepth)
			if x.BacklogRising > 0 {
				backlog += " rising"
			}
			if c := hb.Config; c != nil {
				config = c.Version
				if c.Error != "" {
					config += " (" + c.Failed + " failed)"
				}
			}
		}
		enrolled := "hub.yaml"
		if e := x.Enrolment; e != nil {
			enrolled = e.EnrolledAt.Local().Format("2006-01-02") + " " + e.Hostname
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID(), state, dash(x.Version), dash(x.OS), config, ago(now, x.LastSeen), backlog,
			strings.TrimSpace(enrolled))
		for _, why := range x.Behind {
			fmt.Fprintf(tw, "  behind: %s\t\t\t\t\t\t\t\n", why)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago says how long ago t was, "-" for never.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Local().Format("2006-01-02 15:04")
}
