package uplink

import (
	"context"
	"errors"
	"fmt"

	"github.com/storewatch/storewatch/wire"
)

// ErrNotConnected is returned by Resend while the uplink has no broker
// connection: the hub asks again later.
var ErrNotConnected = errors.New("uplink: not connected to the broker")

// Resend publishes again the events with the sequence numbers of spans
// that the outbox still keeps after their PUBACK (Options.Outbox.KeepSent),
// on the current connection, with their original headers, and waits for
// their PUBACKs. It is the agent's side of wire.OpResend: a broker that
// lost messages it had acknowledged (a node or a hub replica lost in the
// middle of a delivery) leaves the hub a gap in the agent's numbers, and the
// hub asks for them. Numbers still waiting in the outbox are counted as
// pending (they go out the usual way); the others are gone.
func (u *Uplink) Resend(ctx context.Context, spans []wire.SeqSpan) (wire.ResendResult, error) {
	found, pending, gone, err := u.ob.resendable(spans)
	if err != nil {
		return wire.ResendResult{}, fmt.Errorf("resend: %w", err)
	}
	res := wire.ResendResult{Pending: pending, Gone: wire.FormatSpans(gone)}
	if len(found) == 0 {
		return res, nil
	}
	u.mu.Lock()
	s := u.sess
	u.mu.Unlock()
	if s == nil {
		return res, ErrNotConnected
	}
	topics := map[wire.MessageType]string{wire.TypeEvent: u.id.Topic(wire.ChannelEvents), wire.TypeMetrics: u.id.Topic(wire.ChannelMetrics)}
	// In windows of InFlight, as the publisher goes.
	for len(found) > 0 {
		n := min(len(found), u.opt.InFlight)
		var waits []delivery
		for _, e := range found[:n] {
			payload, err := u.ob.payload(e)
			if err != nil {
				return res, fmt.Errorf("resend %d: %w", e.seq, err)
			}
			waits = append(waits, s.Publish(topics[e.rec.typ], false, payload))
		}
		for _, d := range waits {
			if err := d.Wait(ctx); err != nil {
				return res, fmt.Errorf("resend: %w", err)
			}
			res.Resent++
		}
		found = found[n:]
	}
	u.log.Info("events published again at the hub's request", "resent", res.Resent, "pending", res.Pending, "gone", res.Gone)
	return res, nil
}
