package incident

import (
	"strings"
	"testing"
	"text/template"
)

// Web console templates written when the facts were a field named Ticket
// (api.console_dir) still render: .Ticket is the facts.
func TestTemplatesMayStillSayTicket(t *testing.T) {
	inc := Incident{Facts: Facts{Vendor: "EPSON", Model: "TM-T88V"}}
	var b strings.Builder
	tmpl := template.Must(template.New("t").Parse("{{.Ticket.Vendor}} {{.Facts.Model}}"))
	if err := tmpl.Execute(&b, inc); err != nil || b.String() != "EPSON TM-T88V" {
		t.Errorf("%q, %v", b.String(), err)
	}
}
