package agent

import (
	"testing"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/usbinv"
)

func TestUnmonitoredLeavesOutWhatIsConfigured(t *testing.T) {
	rep := usbinv.Report{Found: []usbinv.Found{
		{Device: &usbinv.Device{VID: 0x04b8, PID: 0x0e28, Serial: "X5Y6Z7"}, Recognition: usbinv.Recognition{Kind: "receipt_printer", Driver: "escpos",
			Vendor: "Epson", Model: "TM-T88VI", Address: "serial://?usb=04b8:0e28&usbserial=X5Y6Z7"}},
		{Device: &usbinv.Device{VID: 0x0403, PID: 0x6001, Serial: "A1B2"}, Port: "/dev/ttyUSB0", Recognition: usbinv.Recognition{Address: "serial://?usb=0403:6001&usbserial=A1B2"}},
		{Port: "/dev/ttyS0"},
		{Device: &usbinv.Device{VID: 0x05e0, PID: 0x1200}, Recognition: usbinv.Recognition{Kind: "scanner", Driver: "scanner", Address: "usb://05e0:1200"}},
	}}
	cfg := &config.Agent{Devices: []config.Device{
		{ID: "scale", Address: "serial:///dev/ttyUSB0?baud=9600"}, // by its port
		{ID: "scanner", Address: "usb://05E0:1200"},               // by its USB id
	}}
	got := Unmonitored(rep, cfg)
	if len(got) != 2 || got[0].Address != "serial://?usb=04b8:0e28&usbserial=X5Y6Z7" || got[0].Serial != "X5Y6Z7" || got[0].Kind != "receipt_printer" ||
		got[1].Address != "serial:///dev/ttyS0" {
		t.Fatalf("Unmonitored = %+v; want the printer and ttyS0", got)
	}
}
