package incident

import (
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// reportBusy sends a busy event, as the agent does while the POS
// application holds the device.
func (w *world) reportBusy(dev string, holder *wire.Holder) {
	w.seq++
	ev := &wire.Event{Header: w.header(w.seq), Device: dev, Since: w.clk.Now(), State: wire.StateBusy, Holder: holder}
	ev.Header.Type = wire.TypeEvent
	c, _ := w.eng.Event(ev, w.clk.Now())
	w.collect(c)
}

// A printer the POS application holds all day is busy: no ticket, and the
// console can say who holds it.
func TestStoryDeviceHeldByThePOSOpensNoTicket(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane3", "lane 3"))
	w.report("receipt-lane3")
	w.reportBusy("receipt-lane3", &wire.Holder{Process: "POS.exe", PID: 4312})
	w.advance(8 * time.Hour)
	if got := w.incidents(KindFault); len(got) != 0 {
		t.Fatalf("a busy device opened tickets: %+v", got)
	}
	d := w.device("receipt-lane3")
	if d.State != wire.StateBusy || d.Holder.String() != "in use by POS.exe (pid 4312)" {
		t.Errorf("device = %+v", d)
	}
	w.report("receipt-lane3")
	if d := w.device("receipt-lane3"); d.Holder != nil || d.State != wire.StateOK {
		t.Errorf("after the port was free: %+v", d)
	}
}

// Busy says nothing about the faults: a paper_out that was being held down
// neither opens nor resolves while the device is busy, and opens once the
// agent can read it again and it is still there.
func TestStoryBusyFreezesWhatWasKnown(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane3", "lane 3"))
	w.report("receipt-lane3", wire.FaultPaperOut)
	w.advance(time.Minute)
	w.reportBusy("receipt-lane3", nil)
	w.advance(30 * time.Minute)
	if got := w.incidents(KindFault); len(got) != 0 {
		t.Fatalf("opened while busy: %+v", got)
	}
	if d := w.device("receipt-lane3"); len(d.Faults) != 1 || d.Faults[0].Code != wire.FaultPaperOut {
		t.Errorf("the last known fault should stay on show while busy: %+v", d.Faults)
	}
	w.report("receipt-lane3", wire.FaultPaperOut)
	w.advance(time.Minute)
	if got := w.incidents(KindFault); len(got) != 1 || got[0].Fault != wire.FaultPaperOut {
		t.Fatalf("after busy, the fault still there: %+v", got)
	}
}

// busy_too_long is an ordinary fault: one ticket.
func TestStoryBusyTooLongOpensOneTicket(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("scale-lane3", "lane 3"))
	w.report("scale-lane3")
	w.reportBusy("scale-lane3", &wire.Holder{Process: "POS.exe", PID: 4312})
	w.advance(time.Hour)
	w.report("scale-lane3", wire.FaultBusyTooLong)
	w.advance(30 * time.Minute)
	if got := w.incidents(KindFault); len(got) != 1 || got[0].Fault != wire.FaultBusyTooLong {
		t.Fatalf("want one busy_too_long ticket, got %+v", got)
	}
}
