package profiles

import (
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// BenchmarkPushChain is a profile change reaching a chain of 800 stores:
// rendering, checking and signing each store's configuration (published
// to a discarding broker). The figure is per change, for the whole chain.
func BenchmarkPushChain(b *testing.B) {
	st, err := store.OpenBolt(filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	_, priv, _ := ed25519.GenerateKey(nil)
	var agents []wire.AgentID
	p := &Profile{Tenant: "acme", Name: "standard-lane", Values: map[string]map[string]string{},
		Devices: "- {id: 'receipt-lane{{.lane}}', kind: receipt_printer, driver: escpos, address: 'serial://COM1?baud=9600', location: 'lane {{.lane}}'}\n" +
			"- {id: 'pt-lane{{.lane}}', kind: payment_terminal, driver: zvt, address: 'tcp://{{.zvt}}:20007', location: 'lane {{.lane}}'}\n"}
	for i := range 800 {
		s := fmt.Sprintf("S%04d", i)
		agents = append(agents, wire.AgentID{Tenant: "acme", Store: s, Agent: "main"})
		p.Values[s] = map[string]string{"lane": "1", "zvt": fmt.Sprintf("10.%d.%d.30", i/250, i%250)}
	}
	sent := 0
	svc := New(Options{Store: st, Key: signer{priv}, Agents: func() []wire.AgentID { return agents },
		Publish: func(string, []byte) error { sent++; return nil }})
	if _, err := svc.Put(p, "bench"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		svc.mu.Lock()
		clear(svc.sent) // every agent gets it again
		svc.mu.Unlock()
		svc.PushAll()
	}
	b.ReportMetric(float64(sent)/float64(b.N+1), "configs/op")
}
