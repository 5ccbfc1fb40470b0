package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// Fill sets every exported field of *p, recursively, to a value that is
// not the zero value: a store that drops a field (a column a migration
// forgot) then fails the comparison of what went in with what came out.
// Times are whole microseconds: PostgreSQL keeps no more.
func Fill[T any](name string) T {
	var x T
	fill(reflect.ValueOf(&x).Elem(), name, 0)
	return x
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	severityType = reflect.TypeFor[wire.Severity]()
)

func fill(v reflect.Value, name string, depth int) {
	if depth > 8 {
		return
	}
	if v.Type() == severityType { // encoded by name: only the named ones exist
		v.Set(reflect.ValueOf(wire.SeverityWarning))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("v-" + name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(1 + len(name)%5))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(1 + len(name)%7))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(len(name)) + 0.25)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name, depth+1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), name, depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, name+"-key", depth+1)
		fill(e, name, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(T0.Add(time.Duration(len(name))*time.Minute + 123456*time.Microsecond)))
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), name+"."+f.Name, depth+1)
			}
		}
	}
}

// same compares two records as their JSON, the form the API serves.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s changed in the store:\n got %s\nwant %s", what, g, w)
	}
}

func everyFieldSurvivesTheStore(t *testing.T, newStore New) {
	st := open(t, newStore)
	inc := Fill[incident.Incident]("incident")
	inc.ID, inc.State, inc.Kind = "INC-000001", incident.StateOpen, incident.KindFault
	entry := Fill[incident.Entry]("entry")
	entry.Incident = inc.ID
	n := Fill[incident.Notification]("notification")
	l := Fill[incident.LogEntry]("log")
	sr := Fill[incident.StoreRecord]("store")
	ar := Fill[incident.AgentRecord]("agent")
	dr := Fill[incident.DeviceRecord]("device")
	w := Fill[incident.Window]("window")
	w.Start, w.End = T0, T0.Add(time.Hour)
	commit(t, st, incident.Changes{Incidents: []incident.Incident{inc}, Timeline: []incident.Entry{entry}, Notifications: []incident.Notification{n},
		Log: []incident.LogEntry{l}, Stores: []incident.StoreRecord{sr}, Agents: []incident.AgentRecord{ar}, Devices: []incident.DeviceRecord{dr},
		Windows: []incident.Window{w}})

	got, err := st.Incident(inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "the incident", got, inc)
	if list, _ := st.Incidents(store.Filter{}); len(list) == 1 {
		same(t, "the listed incident", list[0], inc)
	}
	tl, _ := st.Timeline(inc.ID)
	if len(tl) == 1 {
		same(t, "the timeline entry", tl[0], entry)
	} else {
		t.Errorf("timeline %+v", tl)
	}
	ns, _ := st.Notifications(0, 0)
	if len(ns) == 1 {
		n.Seq = ns[0].Seq
		same(t, "the notification", ns[0], n)
	} else {
		t.Errorf("notifications %+v", ns)
	}
	logs, _ := st.Log(T0.Add(-time.Hour), T0.Add(24*time.Hour), 0)
	if len(logs) == 1 {
		same(t, "the event-log entry", logs[0], l)
	} else {
		t.Errorf("log %+v", logs)
	}
	snap, err := st.Snapshot(time.Hour, T0)
	if err != nil || len(snap.Stores) != 1 || len(snap.Agents) != 1 || len(snap.Devices) != 1 || len(snap.Windows) != 1 || len(snap.Incidents) != 1 {
		t.Fatalf("snapshot %v %+v", err, snap)
	}
	same(t, "the store record", snap.Stores[0], sr)
	same(t, "the agent record", snap.Agents[0], ar)
	same(t, "the device record", snap.Devices[0], dr)
	same(t, "the window", snap.Windows[0], w)
	same(t, "the live incident", snap.Incidents[0], inc)
	ins := installs(t, st, "", "")
	want := store.Install{Tenant: dr.Tenant, Store: dr.Store, Agent: dr.Agent, Device: dr.ID, Kind: dr.Kind, Vendor: dr.Identity.Vendor,
		Model: dr.Identity.Model, Serial: dr.Identity.Serial, From: dr.Updated}
	if len(ins) == 1 {
		same(t, "the install", ins[0], want)
	} else {
		t.Errorf("installs %+v", ins)
	}

	a := Fill[store.AuditEntry]("audit")
	stored, err := st.AppendAudit(a)
	if err != nil {
		t.Fatal(err)
	}
	a.Seq = stored.Seq
	same(t, "the appended audit entry", stored, a)
	if list, _ := st.Audit(store.AuditFilter{}); len(list) == 1 {
		same(t, "the audit entry", list[0], a)
	} else {
		t.Errorf("audit %+v", list)
	}
}

func auditTrailIsAppendOnlyAndFiltered(t *testing.T, newStore New) {
	st := open(t, newStore)
	var seqs []uint64
	for i, e := range []store.AuditEntry{
		{At: T0, Event: store.AuditRequest, ID: "q1", Who: "ann", Tenant: "acme", Store: "s1", Device: "prn1", Op: "status"},
		{At: T0.Add(time.Second), Event: store.AuditAnswer, ID: "q1", Who: "ann", Tenant: "acme", Store: "s1", Device: "prn1", Op: "status", OK: true},
		{At: T0.Add(time.Minute), Event: store.AuditRequest, ID: "q2", Who: "bob", Tenant: "acme", Store: "s2", Device: "scale1", Op: "identify"},
		{At: T0.Add(time.Hour), Event: store.AuditRefused, ID: "q3", Who: "ann", Tenant: "beta", Store: "s1", Device: "prn1", Code: "offline"},
	} {
		got, err := st.AppendAudit(e)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && got.Seq <= seqs[i-1] {
			t.Errorf("entry %d: seq %d after %d", i, got.Seq, seqs[i-1])
		}
		seqs = append(seqs, got.Seq)
	}
	ids := func(f store.AuditFilter) (out []string) {
		list, err := st.Audit(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			out = append(out, e.ID+"/"+e.Event)
		}
		return out
	}
	for _, c := range []struct {
		f    store.AuditFilter
		want string
	}{
		{store.AuditFilter{}, "[q3/refused q2/request q1/answer q1/request]"},
		{store.AuditFilter{Tenant: "acme"}, "[q2/request q1/answer q1/request]"},
		{store.AuditFilter{Store: "s1", Device: "prn1"}, "[q3/refused q1/answer q1/request]"},
		{store.AuditFilter{Who: "bob"}, "[q2/request]"},
		{store.AuditFilter{ID: "q1"}, "[q1/answer q1/request]"},
		{store.AuditFilter{Since: T0.Add(time.Second)}, "[q3/refused q2/request q1/answer]"},
		{store.AuditFilter{Limit: 2}, "[q3/refused q2/request]"},
		{store.AuditFilter{Tenant: "nobody"}, "[]"},
	} {
		if got := ids(c.f); fmt.Sprint(got) != c.want {
			t.Errorf("%+v: %s, want %s", c.f, fmt.Sprint(got), c.want)
		}
	}
}

func deviceLogIsOneDevicesRecentHistory(t *testing.T, newStore New) {
	st := open(t, newStore)
	var c incident.Changes
	for i, dev := range []string{"prn1", "prn2", "prn1", "prn1", "prn1"} {
		c.Log = append(c.Log, incident.LogEntry{At: T0.Add(time.Duration(i) * time.Hour), Kind: incident.LogState, Tenant: "acme", Store: "s1",
			Device: dev, State: string(rune('a' + i))})
	}
	c.Log = append(c.Log, incident.LogEntry{At: T0, Kind: incident.LogState, Tenant: "acme", Store: "s2", Device: "prn1"})
	commit(t, st, c)
	states := func(since time.Time, limit int) string {
		list, err := st.DeviceLog("acme", "s1", "prn1", since, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range list {
			out = append(out, l.State)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		since time.Time
		limit int
		want  string
	}{
		{T0, 0, "[e d c a]"},
		{T0.Add(2 * time.Hour), 0, "[e d c]"},
		{T0, 2, "[e d]"},
		{T0.Add(5 * time.Hour), 0, "[]"},
	} {
		if got := states(c.since, c.limit); got != c.want {
			t.Errorf("since %v limit %d: %s, want %s", c.since, c.limit, got, c.want)
		}
	}
}
