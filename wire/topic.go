package wire

import (
	"fmt"
	"strings"
)

// TopicRoot is the first topic level of every storewatch topic. The second
// level carries the protocol major version so two generations can share a
// broker during an upgrade.
const TopicRoot = "storewatch/v1"

// Channel is the last part of a topic: what kind of message travels on it.
type Channel string

// The channels of one agent's topic tree.
const (
	ChannelStatus    Channel = "status"    // retained birth ("online") and will ("offline")
	ChannelInventory Channel = "inventory" // retained list of devices with identity
	ChannelEvents    Channel = "events"    // device health state changes
	ChannelMetrics   Channel = "metrics"   // batched samples and the agent heartbeat
	ChannelCmdReq    Channel = "cmd/req"   // hub -> agent remote query
	ChannelCmdRes    Channel = "cmd/res"   // agent -> hub reply
	ChannelConfig    Channel = "config"    // hub -> agent, retained: the signed device configuration the hub manages
)

var channels = []Channel{ChannelStatus, ChannelInventory, ChannelEvents, ChannelMetrics, ChannelCmdReq, ChannelCmdRes, ChannelConfig}

// Valid reports whether c is one of the known channels.
func (c Channel) Valid() bool {
	for _, k := range channels {
		if c == k {
			return true
		}
	}
	return false
}

// AgentID names one agent: the retail chain (tenant), the store, and the agent
// within the store. It is the subtree a broker ACL confines the agent to.
type AgentID struct {
	Tenant string `json:"tenant"`
	Store  string `json:"store"`
	Agent  string `json:"agent"`
}

// String returns "tenant/store/agent".
func (a AgentID) String() string { return a.Tenant + "/" + a.Store + "/" + a.Agent }

// Topic returns the full topic of channel ch in this agent's tree.
func (a AgentID) Topic(ch Channel) string {
	return TopicRoot + "/" + a.String() + "/" + string(ch)
}

// Validate checks that every part is a usable topic segment.
func (a AgentID) Validate() error {
	for _, p := range []struct{ name, v string }{{"tenant", a.Tenant}, {"store", a.Store}, {"agent", a.Agent}} {
		if err := ValidateSegment(p.v); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

// MaxSegmentLen bounds tenant, store, agent and device ids.
const MaxSegmentLen = 64

// ValidateSegment checks an identifier used as one topic level (or as a device
// id): 1 to 64 characters of letters, digits, '-', '_' and '.', so it can never
// contain MQTT wildcards or separators.
func ValidateSegment(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(s) > MaxSegmentLen {
		return fmt.Errorf("%q is longer than %d characters", s, MaxSegmentLen)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("%q may only contain letters, digits, '-', '_' and '.'", s)
		}
	}
	return nil
}

// ParseTopic splits a storewatch topic into the agent it belongs to and its
// channel. It rejects topics outside the tree, with bad segments, or with an
// unknown channel.
func ParseTopic(topic string) (AgentID, Channel, error) {
	rest, ok := strings.CutPrefix(topic, TopicRoot+"/")
	if !ok {
		return AgentID{}, "", fmt.Errorf("topic %q: not under %s/", topic, TopicRoot)
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) != 4 {
		return AgentID{}, "", fmt.Errorf("topic %q: want %s/{tenant}/{store}/{agent}/{channel}", topic, TopicRoot)
	}
	id := AgentID{Tenant: parts[0], Store: parts[1], Agent: parts[2]}
	if err := id.Validate(); err != nil {
		return AgentID{}, "", fmt.Errorf("topic %q: %w", topic, err)
	}
	ch := Channel(parts[3])
	if !ch.Valid() {
		return AgentID{}, "", fmt.Errorf("topic %q: unknown channel %q", topic, parts[3])
	}
	return id, ch, nil
}

// Filter returns an MQTT subscription filter for channel ch of every agent of
// tenant ("+" for all tenants).
func Filter(tenant string, ch Channel) string {
	return TopicRoot + "/" + tenant + "/+/+/" + string(ch)
}
