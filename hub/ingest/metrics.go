package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storewatch/storewatch/hub/incident"
)

// Metrics are the ingest and incident counters exported on /metrics.
type Metrics struct {
	Messages      *prometheus.CounterVec // by channel and outcome
	Rejected      *prometheus.CounterVec // by reason
	Gaps          prometheus.Counter
	Notifications *prometheus.CounterVec // by kind
	Incidents     *prometheus.CounterVec // by kind and transition
	CommitSeconds prometheus.Histogram
	BatchSize     prometheus.Histogram
	ToTicket      prometheus.Histogram // receipt of an event to the incident it opened
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "storehub", Name: "messages_total",
			Help: "Agent messages by channel and outcome (applied, duplicate, out_of_order, ignored)."}, []string{"channel", "outcome"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "storehub", Name: "rejected_messages_total",
			Help: "Messages refused before they reached the engine, by reason."}, []string{"reason"}),
		Gaps: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "storehub", Name: "sequence_gaps_total",
			Help: "Agent message sequence numbers skipped over (messages lost or not yet arrived)."}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "storehub", Name: "notifications_total",
			Help: "Incident lifecycle notifications queued for connectors, by kind."}, []string{"kind"}),
		Incidents: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "storehub", Name: "incident_transitions_total",
			Help: "Incident transitions by incident kind and transition (opened, resolved, closed)."}, []string{"kind", "transition"}),
		CommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "storehub", Name: "commit_seconds",
			Help: "Time to commit one batch to the ticket store.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "storehub", Name: "batch_messages",
			Help: "Messages per committed batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		ToTicket: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "storehub", Name: "event_to_ticket_seconds",
			Help: "From receipt of the event that made an incident due to its commit.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	if reg != nil {
		reg.MustRegister(m.Messages, m.Rejected, m.Gaps, m.Notifications, m.Incidents, m.CommitSeconds, m.BatchSize, m.ToTicket)
	}
	return m
}

func (m *Metrics) changes(c *incident.Changes) {
	for _, n := range c.Notifications {
		m.Notifications.WithLabelValues(string(n.Kind)).Inc()
	}
	for _, l := range c.Log {
		if l.Kind == incident.LogIncident {
			m.Incidents.WithLabelValues(l.Detail, l.State).Inc()
		}
	}
}
