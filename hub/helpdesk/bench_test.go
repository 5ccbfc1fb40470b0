package helpdesk_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/wire"
)

// BenchmarkOutbox measures the outbox's own cost per call, from Enqueue to
// the delivered call's removal, against a helpdesk that answers at once:
// two bbolt transactions with fsync per call plus rendering the ticket.
func BenchmarkOutbox(b *testing.B) {
	desk := newFakeDesk()
	o := openOutbox(b, helpdesktest.Config(b), desk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	b.ResetTimer()
	for i := range b.N {
		in := helpdesktest.Incident(fmt.Sprintf("%05d", i), "prn1", wire.FaultPaperOut)
		if err := o.Enqueue(ctx, helpdesk.Delivery{Incident: in, Kind: tickets.Opened, Occurrence: "1"}); err != nil {
			b.Fatal(err)
		}
	}
	helpdesktest.Drained(b, o)
	b.StopTimer()
	cancel()
	<-done
	if desk.opened != b.N {
		b.Fatalf("%d tickets for %d calls", desk.opened, b.N)
	}
}
