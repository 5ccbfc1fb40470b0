package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// BenchmarkFileAtFleetSize: the size of the ticket store after a large
// fleet's opening burst, which storehub maps and keeps resident. Each
// iteration commits one store's 30 devices (a device record, its install
// and an event-log line each) in batches of a few hundred devices from
// many stores, as the ingest pipeline does; it reports the file's bytes per
// device and the bytes the device, install and event-log buckets take in
// pages against what their keys and values need. The chain's 10,000
// stores:
//
//	go test ./hub/store -run '^$' -bench FileAtFleetSize -benchtime 10000x
func BenchmarkFileAtFleetSize(b *testing.B) {
	path := filepath.Join(b.TempDir(), "hub.db")
	st, err := OpenBolt(path)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	const devices, perBatch = 30, 17 // 510 devices a commit, each from another store
	var ch incident.Changes
	flush := func() {
		if err := st.Commit(ch); err != nil {
			b.Fatal(err)
		}
		ch = incident.Changes{}
	}
	for s := range b.N {
		// Stores report in no order: spread them over the key space.
		store := fmt.Sprintf("s%05d", (s*7919)%max(b.N, 1))
		for d := range devices {
			at = at.Add(time.Millisecond)
			dev := incident.DeviceRecord{Tenant: "acme", Store: store, Agent: "backoffice", ID: fmt.Sprintf("receipt-%d", d+1),
				Kind: "receipt_printer", Driver: "escpos", Identity: wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: fmt.Sprintf("X%05d%02d", s, d)},
				State: wire.StateOK, Reported: wire.StateOK, Since: at, LastSeq: uint64(d + 1), Updated: at}
			ch.Devices = append(ch.Devices, dev)
			ch.Log = append(ch.Log, incident.LogEntry{At: at, Kind: incident.LogState, Tenant: "acme", Store: store, Agent: "backoffice",
				Device: dev.ID, DevKind: dev.Kind, Vendor: "EPSON", Model: "TM-T88VI", State: "ok"})
		}
		if (s+1)%perBatch == 0 {
			flush()
		}
	}
	flush()
	b.StopTimer()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	n := float64(b.N * devices)
	b.ReportMetric(float64(fi.Size())/n, "file-B/device")
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bDevices, bInstalls, bLog} {
			bk := tx.Bucket(name)
			var kv int
			if err := bk.ForEach(func(k, v []byte) error { kv += len(k) + len(v); return nil }); err != nil {
				return err
			}
			s := bk.Stats()
			b.ReportMetric(float64(s.LeafAlloc+s.BranchAlloc)/n, string(name)+"-pages-B/device")
			b.ReportMetric(float64(kv)/n, string(name)+"-data-B/device")
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
