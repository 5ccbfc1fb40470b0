package helpdesk

import (
	"context"
	"fmt"
	"testing"

	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/wire"
)

// BenchmarkOutbox measures the outbox's own cost per call, from Enqueue to
// the delivered call's removal, against a helpdesk that answers at once:
// two bbolt transactions with fsync per call plus rendering the ticket.
func BenchmarkOutbox(b *testing.B) {
	desk := newFakeDesk()
	o := openOutbox(b, testConfig(b), desk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	b.ResetTimer()
	for i := range b.N {
		in := incident(fmt.Sprintf("%05d", i), "prn1", wire.FaultPaperOut)
		if err := o.Enqueue(ctx, Notification{Incident: in, Kind: tickets.Opened, Occurrence: "1"}); err != nil {
			b.Fatal(err)
		}
	}
	drained(b, o)
	b.StopTimer()
	cancel()
	<-done
	if desk.opened != b.N {
		b.Fatalf("%d tickets for %d calls", desk.opened, b.N)
	}
}
