package broker

import (
	"slices"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// TestSessionStoreSkipsOnlyInboundQoS1: the hub's session store keeps what
// paho needs again after a reconnect (its own publishes, subscriptions,
// QoS 2 state) and leaves out the inbound QoS 1 publishes paho would
// discard on resume.
func TestSessionStoreSkipsOnlyInboundQoS1(t *testing.T) {
	pub := func(qos byte) packets.ControlPacket {
		p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
		p.Qos = qos
		return p
	}
	cases := []struct {
		key  string
		m    packets.ControlPacket
		kept bool
	}{
		{"i.1", pub(1), false},
		{"i.2", pub(2), true},
		{"i.3", packets.NewControlPacket(packets.Pubrel), true},
		{"o.4", pub(1), true},
		{"o.5", packets.NewControlPacket(packets.Subscribe), true},
	}
	s := newSessionStore()
	s.Open()
	for _, c := range cases {
		s.Put(c.key, c.m)
	}
	var want []string
	for _, c := range cases {
		if got := s.Get(c.key) != nil; got != c.kept {
			t.Errorf("%s (%T, kept %v): stored %v", c.key, c.m, c.kept, got)
		}
		if c.kept {
			want = append(want, c.key)
		}
	}
	all := s.All()
	slices.Sort(all)
	if !slices.Equal(all, want) {
		t.Errorf("All() = %v, want %v", all, want)
	}
	s.Del("i.1") // an acknowledgement of a message never stored
	s.Del("o.4")
	if s.Get("o.4") != nil || len(s.All()) != len(want)-1 {
		t.Errorf("after Del: %v", s.All())
	}
	s.Reset()
	if len(s.All()) != 0 {
		t.Errorf("after Reset: %v", s.All())
	}
}
