package collector

import (
	"context"

	"github.com/storewatch/storewatch/wire"
)

// Sink receives what the collector decides. The uplink implements it by
// persisting to the outbox; `storeagent run` without a broker logs instead.
//
// The collector fills an event's Device, state, faults and times and the
// header's Time; the sink stamps the agent identity, boot id and sequence
// number. Both methods must return quickly: a sink that blocks stalls polling.
type Sink interface {
	Event(ctx context.Context, ev wire.Event) error
	Samples(ctx context.Context, samples []wire.Sample) error
}
