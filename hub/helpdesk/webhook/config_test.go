package webhook

import (
	"testing"

	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
)

func TestConfigMistakes(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad url", "helpdesks: [{name: a, type: webhook, webhook: {url: 'ftp://x', secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}}]\noutbox: {path: x}", `helpdesks[0].webhook.url: "ftp://x"`},
		{"bad secret", "helpdesks: [{name: a, type: webhook, webhook: {url: 'https://x', secret: hunter2}}]\noutbox: {path: x}", `helpdesks[0].webhook.secret: want "whsec_"`},
		{"short secret", "helpdesks: [{name: a, type: webhook, webhook: {url: 'https://x', secret: whsec_c2hvcnQ=}}]\noutbox: {path: x}", "the key is 5 bytes"},
		{"a header storewatch sets", "helpdesks: [{name: a, type: webhook, webhook: {url: 'https://x', secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, headers: {Webhook-Signature: x}}}]\noutbox: {path: x}",
			"helpdesks[0].webhook.headers.Webhook-Signature: storewatch sets this header itself"},
	} {
		helpdesktest.WantMistake(t, tc.name, tc.yaml, tc.want)
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := helpdesktest.Parse([]byte("helpdesks: [{name: a, type: webhook, webhook: {url: 'https://x', secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}}]\noutbox: {path: x}"))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Helpdesks[0].Settings.(*Config); w.Timeout.Seconds() != 30 {
		t.Errorf("timeout %v, want 30s", w.Timeout)
	}
}
