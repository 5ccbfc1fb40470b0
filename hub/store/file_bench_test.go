package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// BenchmarkFileAtFleetSize: the size of the ticket store after a large
// fleet's opening burst, which storehub maps and keeps resident (the
// fleet's commits are writeFleet's). It reports the file's bytes per
// device and the bytes the device, install and event-log buckets take in
// pages against what their keys and values need. The chain's 10,000
// stores:
//
//	go test ./hub/store -run '^$' -bench FileAtFleetSize -benchtime 10000x
func BenchmarkFileAtFleetSize(b *testing.B) {
	path := filepath.Join(b.TempDir(), "hub.db")
	writeFleet(b, path, b.N)
	b.StopTimer()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	n := float64(b.N * fleetDevices)
	b.ReportMetric(float64(fi.Size())/n, "file-B/device")
	for _, bk := range bucketFill(b, path, bDevices, bInstalls, bLog) {
		b.ReportMetric(float64(bk.pages)/n, bk.name+"-pages-B/device")
		b.ReportMetric(float64(bk.data)/n, bk.name+"-data-B/device")
	}
}

// A device's record grows once, at its first state report, and the pages
// cut at the opening burst must hold it grown: with the pages of the
// devices cut at 90 % (the other records' setting), the grown records
// split nearly every page in two and the bucket ended 59 % full.
func TestDevicePagesStayFullAfterTheFirstReports(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	writeFleet(t, path, 1000)
	for _, bk := range bucketFill(t, path, bDevices) {
		if fill := float64(bk.inUse) / float64(bk.pages); fill < 0.75 {
			t.Errorf("%s: %d bytes of pages hold %d bytes (%.0f %% full), want at least 75 %%", bk.name, bk.pages, bk.inUse, 100*fill)
		}
	}
}

const fleetDevices = 30

// writeFleet commits a fleet's opening burst to a new ticket store at
// path: each store's inventory (30 device records without a state report
// yet, their installs and an event-log line each), in batches of a few
// hundred devices from many stores as the ingest pipeline commits them;
// then, in another order, each device's first state report, which rewrites
// its record with the report's time and sequence number (about 70 bytes
// more).
func writeFleet(tb testing.TB, path string, stores int) {
	tb.Helper()
	st, err := OpenBolt(path)
	if err != nil {
		tb.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	const perBatch = 17 // 510 devices a commit, each from another store
	var ch incident.Changes
	flush := func() {
		commit(tb, st, ch)
		ch = incident.Changes{}
	}
	// A store's devices as agents report them: records of several sizes
	// (kinds, drivers, identities and locations differ), so that no
	// page size is a whole number of records.
	kinds := []struct{ kind, driver, vendor, model, location string }{
		{"receipt_printer", "escpos", "EPSON", "TM-T88VI", "lane %d"},
		{"label_printer", "zpl", "Zebra", "ZD421", "deli"},
		{"scale", "mtsics", "Mettler Toledo", "Ariva-S", "produce"},
		{"scanner", "hidpos", "Honeywell", "Xenon 1950g", "lane %d"},
		{"payment_terminal", "zvt", "Ingenico", "Lane/3000", "lane %d checkout"},
		{"pos_pc", "netprobe", "", "", "office"},
	}
	record := func(s, d int) incident.DeviceRecord {
		k := kinds[(s+d)%len(kinds)]
		var id wire.Identity
		if k.vendor != "" {
			id = wire.Identity{Vendor: k.vendor, Model: k.model, Serial: fmt.Sprintf("X%0*d", 6+(s+d)%7, s*fleetDevices+d)}
		}
		return incident.DeviceRecord{Tenant: "acme", Store: fmt.Sprintf("s%05d", s), Agent: "backoffice", ID: fmt.Sprintf("%s-%d", k.kind, d+1),
			Kind: k.kind, Driver: k.driver, Location: strings.ReplaceAll(k.location, "%d", strconv.Itoa(d%12+1)), Identity: id,
			State: wire.StateUnknown, Reported: wire.StateUnknown, Updated: at}
	}
	logLine := func(dev incident.DeviceRecord) incident.LogEntry {
		return incident.LogEntry{At: at, Kind: incident.LogState, Tenant: dev.Tenant, Store: dev.Store, Agent: dev.Agent,
			Device: dev.ID, DevKind: dev.Kind, Vendor: dev.Identity.Vendor, Model: dev.Identity.Model, State: string(dev.State)}
	}
	// Stores report in no order: each pass goes through the key space in
	// steps of a prime (a permutation of the stores when the prime does
	// not divide their number).
	pass := func(prime int, report bool) {
		for i := range stores {
			s := (i * prime) % stores
			for d := range fleetDevices {
				at = at.Add(time.Millisecond)
				dev := record(s, d)
				if report {
					dev.State, dev.Reported, dev.Since, dev.LastSeq, dev.Updated = wire.StateOK, wire.StateOK, at, 1_796_675_676_182_000+uint64(d), at
				}
				ch.Devices = append(ch.Devices, dev)
				ch.Log = append(ch.Log, logLine(dev))
			}
			if (i+1)%perBatch == 0 {
				flush()
			}
		}
		flush()
	}
	pass(7919, false)
	pass(104729, true)
	if err := st.Close(); err != nil {
		tb.Fatal(err)
	}
}

type fill struct {
	name               string
	pages, inUse, data int // bytes of leaf and branch pages, of them in use, of keys and values
}

// bucketFill reads how full the named buckets' pages are in the closed
// ticket store at path.
func bucketFill(tb testing.TB, path string, names ...[]byte) []fill {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var out []fill
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range names {
			bk := tx.Bucket(name)
			var kv int
			if err := bk.ForEach(func(k, v []byte) error { kv += len(k) + len(v); return nil }); err != nil {
				return err
			}
			s := bk.Stats()
			out = append(out, fill{name: string(name), pages: s.LeafAlloc + s.BranchAlloc, inUse: s.LeafInuse + s.BranchInuse, data: kv})
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
