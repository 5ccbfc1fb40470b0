package agent

import (
	"context"
	"log/slog"

	"github.com/storewatch/storewatch/wire"
)

// LogSink writes events and samples to the log. It stands in for the uplink
// when no broker is configured, so a technician can watch an agent on site.
type LogSink struct{ Log *slog.Logger }

// Event logs a state change.
func (s LogSink) Event(_ context.Context, ev wire.Event) error {
	args := []any{"device", ev.Device, "state", ev.State, "previous", ev.Previous, "since", ev.Since}
	for _, f := range ev.Faults {
		args = append(args, "fault."+string(f.Code), f.Detail)
	}
	s.Log.Info("event", args...)
	return nil
}

// Samples logs measurements at debug level.
func (s LogSink) Samples(_ context.Context, batch []wire.Sample) error {
	for _, m := range batch {
		s.Log.Debug("sample", "device", m.Device, "name", m.Name, "value", m.Value)
	}
	return nil
}
