// Package all links every helpdesk connector into a binary through blank
// imports, one line per connector, as drivers/all does for the drivers.
// Adding a connector is a folder under hub/helpdesk and a line here.
package all

import (
	_ "github.com/storewatch/storewatch/hub/helpdesk/email"   // SMTP mail, threaded by Message-ID
	_ "github.com/storewatch/storewatch/hub/helpdesk/redmine" // Redmine's REST API, two-way
	_ "github.com/storewatch/storewatch/hub/helpdesk/webhook" // Standard Webhooks signed JSON
)
