package profiles

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

func loadProfile(t *testing.T) *Profile {
	t.Helper()
	return loadFile(t, "standard-lane.yaml")
}

func TestProfileRendersPerStore(t *testing.T) {
	p := loadProfile(t)
	got, err := p.Render("S0042")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"id: receipt-lane3", "address: tcp://10.0.42.30:20007", "location: lane 3", "parity=E"} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered for S0042 lacks %q:\n%s", want, got)
		}
	}
	if !p.AppliesTo(wire.AgentID{Tenant: "acme", Store: "S0099", Agent: "main"}) || p.AppliesTo(wire.AgentID{Tenant: "acme", Store: "N1", Agent: "main"}) ||
		p.AppliesTo(wire.AgentID{Tenant: "acme", Store: "S0042", Agent: "backoffice"}) || p.AppliesTo(wire.AgentID{Tenant: "globex", Store: "S0042", Agent: "main"}) {
		t.Error("AppliesTo matches the wrong agents")
	}
	// A store in the group without its values cannot be rendered, and
	// says which value is missing.
	if _, err := p.Render("S0099"); err == nil || !strings.Contains(err.Error(), "lane") {
		t.Errorf("rendering without values: %v", err)
	}
}

func TestBadProfilesAreRefusedWithTheirMistake(t *testing.T) {
	refused(t, "standard-lane.yaml", []mistake{
		{"unknown setting", "stores: [", "shops: [", "shops"},
		{"unknown device setting", "criticality: high", "baud: 9600", "line 6: unknown setting \"baud\""},
		{"unknown kind", "kind: scale", "kind: weighing_thing", "devices[1].kind"},
		{"template mistake", "{{.zvt}}", "{{.zvt", "devices"},
		{"value missing for a store", `S0043: {lane: "1", zvt: 10.0.43.30}`, `S0043: {lane: "1"}`, "zvt"},
		{"duplicate device", "id: scale-lane{{.lane}}", "id: receipt-lane{{.lane}}", "receipt-lane3"},
		{"bad pattern", `stores: ["S0*"]`, `stores: ["S0/*"]`, "pattern"},
	})
}

// mistake is a change to a good profile (from → to) that makes it
// refused, with want in the error.
type mistake struct{ name, from, to, want string }

// refused checks that each mistake in the profile file is refused.
func refused(t *testing.T, file string, mistakes []mistake) {
	t.Helper()
	good, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range mistakes {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(string(good), c.from, c.to, 1)
			if doc == string(good) {
				t.Fatalf("%q not in the profile", c.from)
			}
			_, err := Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to name %q", err, c.want)
			}
		})
	}
}

type signer struct{ priv ed25519.PrivateKey }

func (s signer) Sign(msg []byte) []byte { return ed25519.Sign(s.priv, msg) }

func TestPushSignsAndSendsOnlyWhatChanged(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pub, priv, _ := ed25519.GenerateKey(nil)
	sent := map[string][]byte{}
	agents := []wire.AgentID{{Tenant: "acme", Store: "S0042", Agent: "main"}, {Tenant: "acme", Store: "N1", Agent: "main"}}
	svc := New(Options{Store: st, Key: signer{priv}, Agents: func() []wire.AgentID { return agents },
		Publish: func(topic string, payload []byte) error { sent[topic] = payload; return nil }})
	if _, err := svc.Put(loadProfile(t), "jane"); err != nil {
		t.Fatal(err)
	}
	topic := agents[0].Topic(wire.ChannelConfig)
	if len(sent) != 1 || sent[topic] == nil {
		t.Fatalf("sent to %v; want only %s (no profile applies to N1)", keys(sent), topic)
	}
	dc, err := wire.Decode[wire.DeviceConfig](sent[topic])
	if err != nil || !ed25519.Verify(pub, dc.SigningBytes(), dc.Signature) || dc.Version != Version(dc.Devices) ||
		!strings.Contains(dc.Devices, "receipt-lane3") || dc.Profiles[0] != "standard-lane" {
		t.Fatalf("sent %+v, %v", dc, err)
	}
	if a := svc.Assigned(agents); a[agents[0]] != dc.Version || a[agents[1]] != "" || len(a) != 1 {
		t.Errorf("Assigned: %v", a)
	}
	// Unchanged: nothing sent again. A store's new values: sent.
	delete(sent, topic)
	svc.PushAll()
	if len(sent) != 0 {
		t.Fatalf("an unchanged configuration was sent again: %v", keys(sent))
	}
	if _, err := svc.SetValues("acme", "standard-lane", "S0042", map[string]string{"lane": "4", "zvt": "10.0.42.40"}, "jane"); err != nil {
		t.Fatal(err)
	}
	dc2, _ := wire.Decode[wire.DeviceConfig](sent[topic])
	if dc2 == nil || !strings.Contains(dc2.Devices, "receipt-lane4") {
		t.Fatalf("after new values: %+v", dc2)
	}
	// Deleted: the agent it applied to gets a configuration without devices.
	if err := svc.Delete("acme", "standard-lane", "jane"); err != nil {
		t.Fatal(err)
	}
	dc3, _ := wire.Decode[wire.DeviceConfig](sent[topic])
	if dc3 == nil || dc3.Devices != "" || len(dc3.Profiles) != 0 {
		t.Fatalf("after the delete: %+v", dc3)
	}
	if err := svc.Delete("acme", "standard-lane", "jane"); err == nil {
		t.Fatal("deleted a profile twice")
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestAddDeviceMakesTheStoresOwnProfile(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, priv, _ := ed25519.GenerateKey(nil)
	id := wire.AgentID{Tenant: "acme", Store: "S0042", Agent: "main"}
	sent := map[string][]byte{}
	svc := New(Options{Store: st, Key: signer{priv}, Agents: func() []wire.AgentID { return []wire.AgentID{id} },
		Publish: func(topic string, payload []byte) error { sent[topic] = payload; return nil }})
	for _, d := range []NewDevice{
		{ID: "receipt-1", Kind: "receipt_printer", Driver: "escpos", Address: "serial://?usb=04b8:0e28&usbserial=X5Y6Z7", Location: "lane 1"},
		{ID: "com4", Kind: "other", Driver: "netprobe", Address: "tcp://10.0.0.9:9100"},
	} {
		if _, err := svc.AddDevice(id, d, "jane"); err != nil {
			t.Fatal(err)
		}
	}
	dc, _ := wire.Decode[wire.DeviceConfig](sent[id.Topic(wire.ChannelConfig)])
	if dc == nil || !strings.Contains(dc.Devices, "usbserial=X5Y6Z7") || !strings.Contains(dc.Devices, "id: com4") || dc.Profiles[0] != "store-S0042" {
		t.Fatalf("sent %+v", dc)
	}
	if _, err := svc.AddDevice(id, NewDevice{ID: "receipt-1", Kind: "receipt_printer", Driver: "escpos", Address: "tcp://x:9100"}, "jane"); err == nil {
		t.Fatal("a second device with the same id went in")
	}
	if _, err := svc.AddDevice(id, NewDevice{ID: "x", Kind: "other", Driver: "netprobe", Address: "tcp://{{.a}}:1"}, "jane"); err == nil {
		t.Fatal("template text went in")
	}
}
