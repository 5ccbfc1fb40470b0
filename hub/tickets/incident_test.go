package tickets

import (
	"time"

	"github.com/storewatch/storewatch/wire"
)

// sample is the incident the tests render: a receipt printer out of paper
// in a Berlin store.
func sample() Brief {
	return Brief{
		Key: "acme/0042/prn1/paper_out", Tenant: "acme", Store: "0042",
		StoreName: "Berlin Mitte", Address: "Alexanderplatz 1, 10178 Berlin", Country: "DE",
		TimeZone: "Europe/Berlin", Device: "prn1", Kind: "receipt_printer", Location: "lane 3",
		Identity: wire.Identity{Vendor: "Epson", Model: "TM-T88VI", Serial: "X5E1234567", Firmware: "30.01 ESC/POS"},
		Fault:    wire.FaultPaperOut, Detail: "DLE EOT 4 = 0x7E", Severity: wire.SeverityError,
		Priority: 3, PreviousPriority: 4,
		SLADue:         time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC),
		FirstSeen:      time.Date(2026, 3, 2, 9, 58, 0, 0, time.UTC),
		Changed:        time.Date(2026, 3, 2, 11, 3, 0, 0, time.UTC),
		DeviceCount30d: 3, ModelCount30d: 41,
		Flaps: 6, FlapWindow: 30 * time.Minute, Recurrences: 5, ChronicWindow: 14 * 24 * time.Hour,
		URL: "https://hub.example/incidents/123",
	}
}
