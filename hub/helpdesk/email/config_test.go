package email

import (
	"testing"

	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
)

func TestConfigMistakes(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"clear-text password", "helpdesks: [{name: m, type: email, email: {server: 'h:25', tls: none, username: u, from: a@b.c, to: [x@y.z]}}]\noutbox: {path: x}", "helpdesks[0].email.tls: none would send the password"},
		{"no port", "helpdesks: [{name: m, type: email, email: {server: h, from: a@b.c, to: [x@y.z]}}]\noutbox: {path: x}", `helpdesks[0].email.server: "h": want host:port`},
		{"bad recipient", "helpdesks: [{name: m, type: email, email: {server: 'h:25', from: a@b.c, to: [nobody]}}]\noutbox: {path: x}", `helpdesks[0].email.to[0]: "nobody" is not an email address`},
		{"a rule's project is not an address", "helpdesks: [{name: m, type: email, email: {server: 'h:25', from: a@b.c, to: [x@y.z]}}]\nrouting: {rules: [{helpdesk: m, project: stores}]}\noutbox: {path: x}",
			`routing.rules[0].project: "stores": for an email helpdesk the project is the address to send to`},
	} {
		helpdesktest.WantMistake(t, tc.name, tc.yaml, tc.want)
	}
}

// The defaults come from the From address and the secure choice.
func TestConfigDefaults(t *testing.T) {
	c, err := helpdesktest.Parse([]byte("helpdesks: [{name: m, type: email, email: {server: 'smtp.example.com:587', from: 'storewatch <storewatch@example.com>', to: [support@helpdesk.example.com]}}]\noutbox: {path: x}"))
	if err != nil {
		t.Fatal(err)
	}
	if e := c.Helpdesks[0].Settings.(*Config); e.TLS != "starttls" || e.Domain != "example.com" || e.Timeout.Seconds() != 30 {
		t.Errorf("defaults: %+v", e)
	}
}
