package console

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// historyDays and historyLimit bound a device page's history.
const (
	historyDays  = 30
	historyLimit = 50
)

func (c *Console) funcs() template.FuncMap {
	return template.FuncMap{
		"storetime": func(t time.Time, zone string) string { return storeTime(c.o.Display.At(t), zone) },
		"ago":       func(t time.Time) string { return ago(c.o.Display.At(c.clk.Now()), c.o.Display.At(t)) },
		"remedy":    remedyText,
		"meaning": func(code wire.FaultCode) string {
			info, _ := wire.Lookup(code)
			return info.Meaning
		},
		"deviceurl": deviceURL,
		"storeurl": func(tenant, st string) string {
			return Prefix + "stores/" + url.PathEscape(tenant) + "/" + url.PathEscape(st)
		},
		// lasted: a log entry's length (seconds) that ended at end, in
		// store time.
		"lasted": func(end time.Time, s float64) string {
			return incident.Human(c.o.Display.Lasted(end, time.Duration(s*float64(time.Second))).Round(time.Second))
		},
		"join":       strings.Join,
		"sentence":   c.sentence,
		"suppressed": func(reason string) string { return c.word("suppressed.", reason) },
		"resolution": func(r string) string { return c.word("resolution.", r) },
		"nohelpdesk": func() string { return c.word("", "no_helpdesk") },
		"pct":        pct,
		"num":        num,
		"hours":      hours,
		"rate":       rate,
		"period":     reports.Period,
	}
}

// sentence says a timeline entry in the console's language.
func (c *Console) sentence(e incident.Entry) string {
	if c.o.Words == nil {
		return e.Text
	}
	return c.o.Words.Sentence(c.language(), e)
}

// word says an identifier (prefix+id: suppressed.hold_down) in the
// console's language, or the identifier with spaces.
func (c *Console) word(prefix, id string) string {
	if c.o.Words != nil {
		if s := c.o.Words.ConsoleText(c.language(), prefix+id); s != "" {
			return s
		}
	}
	return strings.ReplaceAll(id, "_", " ")
}

func (c *Console) language() string {
	if c.o.Language == "" {
		return "en"
	}
	return c.o.Language
}

func deviceURL(tenant, st, device string) string {
	return Prefix + "stores/" + url.PathEscape(tenant) + "/" + url.PathEscape(st) + "/devices/" + url.PathEscape(device)
}

// storeTime writes t in the store's zone, as people in the store read it.
func storeTime(t time.Time, zone string) string {
	if t.IsZero() {
		return ""
	}
	return t.In(incident.Zone(zone)).Format("Mon 2 Jan 15:04 MST")
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func remedyText(r wire.Remedy) string {
	switch r {
	case wire.RemedyStore:
		return "Store staff can fix it"
	case wire.RemedyRemote:
		return "Support can fix it remotely"
	case wire.RemedyDispatch:
		return "Needs a technician or a part"
	}
	return string(r)
}

// zone returns a store's time zone (UTC if unknown).
func (c *Console) zone(tenant, st string) *time.Location {
	for _, r := range c.o.Engine.Stores() {
		if r.Tenant == tenant && r.Store == st {
			if loc, err := time.LoadLocation(r.Info.TimeZone); err == nil {
				return loc
			}
		}
	}
	return time.UTC
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) {
	http.Redirect(w, r, Prefix+"incidents", http.StatusSeeOther)
}

// ---- login ----

type loginData struct {
	Next  string
	Error string
	Token string // the login form's CSRF token (double-submit cookie)
}

// safeNext keeps a redirect after login inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix + "incidents"
	}
	return next
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request, s *session) {
	if s != nil {
		http.Redirect(w, r, Prefix+"incidents", http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, safeNext(r.URL.Query().Get("next")), "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	tok := randomToken()
	cookie(w, r, loginCookieName, tok, 600)
	c.render(w, r, nil, status, "login", "Log in", "", loginData{Next: next, Error: msg, Token: tok})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request, _ *session) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.showLogin(w, r, http.StatusBadRequest, Prefix+"incidents", "The form could not be read.")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	ck, err := r.Cookie(loginCookieName)
	if err != nil || ck.Value == "" || ck.Value != r.PostForm.Get("csrf") {
		c.showLogin(w, r, http.StatusForbidden, next, "The login form had expired. Please try again.")
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	name, role, ok := c.o.API.Authenticate(token)
	if token == "" || len(token) > 4096 || !ok {
		c.log.Warn("console login refused", "remote", r.RemoteAddr)
		c.showLogin(w, r, http.StatusUnauthorized, next, "This token is not known to the hub.")
		return
	}
	cookie(w, r, loginCookieName, "", -1)
	if err := c.startSession(w, r, name, role, token); err != nil {
		c.log.Error("console login: the session could not be kept", "err", err)
		c.showLogin(w, r, http.StatusServiceUnavailable, next, "The hub could not keep your session; please try again.")
		return
	}
	c.log.Info("console login", "who", name, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.endSession(w, r)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// ---- incidents ----

type incidentsData struct {
	Q       IncidentQuery
	Error   string
	Rows    []incident.Incident
	First   int // number of the first row
	Prev    string
	Next    string
	Stores  []incident.StoreRecord
	Models  []string
	Faults  []wire.FaultInfo
	States  []string
	Options []string // priorities
}

func (c *Console) incidents(w http.ResponseWriter, r *http.Request, s *session) {
	d := incidentsData{Stores: c.o.Engine.Stores(), Faults: wire.Vocabulary(),
		States: []string{"live", "open", "acknowledged", "resolved", "closed"}, Options: []string{"P1", "P2", "P3", "P4", "P5"}}
	models := map[string]bool{}
	for _, dev := range c.o.Engine.Devices() {
		if dev.Identity.Model != "" {
			models[dev.Identity.Model] = true
		}
	}
	for m := range models {
		d.Models = append(d.Models, m)
	}
	sort.Strings(d.Models)
	status := http.StatusOK
	q, err := ParseIncidentQuery(r.URL.Query(), c.clk.Now())
	d.Q = q
	if err != nil {
		d.Error, status = err.Error(), http.StatusBadRequest
	} else {
		rows, err := c.o.Store.Incidents(q.Filter)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		from := (q.Page - 1) * PageSize
		if len(rows) > q.Page*PageSize {
			d.Next = q.Values(q.Page + 1)
			rows = rows[:q.Page*PageSize]
		}
		if from < len(rows) {
			d.Rows = rows[from:]
		}
		d.First = from + 1
		if q.Page > 1 {
			d.Prev = q.Values(q.Page - 1)
		}
	}
	c.render(w, r, s, status, "incidents", "Incidents", "incidents", d)
}

type incidentData struct {
	Incident incident.Incident
	Timeline []incident.Entry
	Device   *incident.DeviceRecord
	Helpdesk bool
}

func (c *Console) incident(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	inc, err := c.o.Store.Incident(id)
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, s, http.StatusNotFound, "There is no incident "+id+".")
		return
	}
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	tl, err := c.o.Store.Timeline(id)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	d := incidentData{Incident: inc, Helpdesk: c.o.Helpdesk}
	for _, e := range tl {
		if e.Kind == incident.EntryNotification && !c.o.Helpdesk {
			continue // handed to connectors that do not exist: said once, above the timeline
		}
		d.Timeline = append(d.Timeline, e)
	}
	for _, dev := range c.o.Engine.Devices() {
		if dev.Tenant == inc.Tenant && dev.Store == inc.Store && dev.ID == inc.Device {
			dev := dev
			d.Device = &dev
		}
	}
	c.render(w, r, s, http.StatusOK, "incident", inc.ID+": "+inc.Title, "incidents", d)
}

func (c *Console) act(w http.ResponseWriter, r *http.Request, s *session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	text, err := ParseActionForm(action, r.PostForm)
	if err != nil {
		c.errorPage(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	ctx := api.WithAuthorization(r.Context(), s.Auth)
	switch action {
	case "acknowledge":
		err = c.o.API.Acknowledge(ctx, id, s.Name)
	case "comment":
		err = c.o.API.Comment(ctx, id, s.Name, text)
	case "close":
		err = c.o.API.Close(ctx, id, s.Name, text)
	}
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.flash(s, map[string]string{"acknowledge": "Acknowledged.", "comment": "Comment added.", "close": "Closed."}[action])
	http.Redirect(w, r, Prefix+"incidents/"+url.PathEscape(id), http.StatusSeeOther)
}

// ---- stores and devices ----

type storeRow struct {
	Store   incident.StoreRecord
	Agents  []incident.AgentRecord
	Counts  map[string]int // devices by state
	Devices int
	Live    int // live incidents
}

func (c *Console) storeRows() []storeRow {
	var rows []storeRow
	idx := map[string]int{}
	for _, st := range c.o.Engine.Stores() {
		idx[st.Tenant+"/"+st.Store] = len(rows)
		rows = append(rows, storeRow{Store: st, Counts: map[string]int{}})
	}
	for _, a := range c.o.Engine.Agents() {
		if i, ok := idx[a.Tenant+"/"+a.Store]; ok {
			rows[i].Agents = append(rows[i].Agents, a)
		}
	}
	for _, d := range c.o.Engine.Devices() {
		if i, ok := idx[d.Tenant+"/"+d.Store]; ok {
			rows[i].Counts[string(d.State)]++
			rows[i].Devices++
		}
	}
	for _, inc := range c.o.Engine.LiveIncidents() {
		if i, ok := idx[inc.Tenant+"/"+inc.Store]; ok {
			rows[i].Live++
		}
	}
	return rows
}

func (c *Console) stores(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, s, http.StatusOK, "stores", "Stores", "stores", c.storeRows())
}

type storeData struct {
	Row     storeRow
	Devices []incident.DeviceRecord
}

func (c *Console) store(w http.ResponseWriter, r *http.Request, s *session) {
	tenant, st := r.PathValue("tenant"), r.PathValue("store")
	for _, row := range c.storeRows() {
		if row.Store.Tenant != tenant || row.Store.Store != st {
			continue
		}
		d := storeData{Row: row}
		for _, dev := range c.o.Engine.Devices() {
			if dev.Tenant == tenant && dev.Store == st {
				d.Devices = append(d.Devices, dev)
			}
		}
		title := st
		if row.Store.Info.Name != "" {
			title = row.Store.Info.Name + " (" + st + ")"
		}
		c.render(w, r, s, http.StatusOK, "store", title, "stores", d)
		return
	}
	c.errorPage(w, r, s, http.StatusNotFound, fmt.Sprintf("The hub knows no store %s/%s.", tenant, st))
}

type deviceData struct {
	Device    incident.DeviceRecord
	Store     incident.StoreRecord
	Agent     incident.AgentRecord
	Zone      string
	Incidents []incident.Incident
	History   []incident.LogEntry
	Ops       []string
	Answer    *answerData
}

type answerData struct {
	Answer query.Answer
	Desc   query.Description
	Zone   string
}

func (c *Console) deviceData(tenant, st, id string) (deviceData, bool) {
	var d deviceData
	found := false
	for _, dev := range c.o.Engine.Devices() {
		if dev.Tenant == tenant && dev.Store == st && dev.ID == id {
			d.Device, found = dev, true
		}
	}
	if !found {
		return d, false
	}
	for _, x := range c.o.Engine.Stores() {
		if x.Tenant == tenant && x.Store == st {
			d.Store, d.Zone = x, x.Info.TimeZone
		}
	}
	for _, a := range c.o.Engine.Agents() {
		if a.Tenant == tenant && a.Store == st && a.Agent == d.Device.Agent {
			d.Agent = a
		}
	}
	for _, inc := range c.o.Engine.LiveIncidents() {
		if inc.Tenant == tenant && inc.Store == st && inc.Device == id {
			d.Incidents = append(d.Incidents, inc)
		}
	}
	d.Ops = []string{wire.OpStatus, wire.OpIdentify, wire.OpCounters, wire.OpOperations}
	return d, true
}

func (c *Console) device(w http.ResponseWriter, r *http.Request, s *session) {
	c.showDevice(w, r, s, nil)
}

func (c *Console) showDevice(w http.ResponseWriter, r *http.Request, s *session, answer *query.Answer) {
	tenant, st, id := r.PathValue("tenant"), r.PathValue("store"), r.PathValue("device")
	d, ok := c.deviceData(tenant, st, id)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotFound, fmt.Sprintf("The hub knows no device %s in store %s/%s.", id, tenant, st))
		return
	}
	hist, err := c.o.Store.DeviceLog(tenant, st, id, c.clk.Now().AddDate(0, 0, -historyDays), historyLimit)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	d.History = hist
	status := http.StatusOK
	if answer != nil {
		d.Answer = &answerData{Answer: *answer, Desc: query.Describe(*answer), Zone: d.Zone}
		status = api.StatusFor(*answer)
	}
	c.render(w, r, s, status, "device", id+" in "+st, "stores", d)
}

// query runs "Query now". The page's script asks for the answer alone
// (X-Requested-With: fetch) and shows it in place; without script the form
// posts and the whole device page comes back with the answer in it.
func (c *Console) query(w http.ResponseWriter, r *http.Request, s *session) {
	tenant, st, id := r.PathValue("tenant"), r.PathValue("store"), r.PathValue("device")
	body, err := ParseQueryForm(r.PostForm)
	var a query.Answer
	if err != nil {
		a = query.Answer{Store: st, Device: id, Code: query.CodeBadRequest, Error: err.Error()}
	} else {
		a = c.o.API.RunQuery(r.Context(), s.Name, s.Role, tenant, st, id, body)
	}
	if r.Header.Get("X-Requested-With") == "fetch" {
		c.render(w, r, s, api.StatusFor(a), "answer", "", "", answerData{Answer: a, Desc: query.Describe(a), Zone: c.zone(tenant, st).String()})
		return
	}
	c.showDevice(w, r, s, &a)
}

// ---- maintenance ----

type maintenanceData struct {
	Windows []incident.Window
	Stores  []incident.StoreRecord
	Error   string
	Form    WindowForm
	Zones   map[string]string // tenant/store -> zone
}

func (c *Console) maintenance(w http.ResponseWriter, r *http.Request, s *session) {
	c.showMaintenance(w, r, s, http.StatusOK, "", WindowForm{Duration: "2h"})
}

func (c *Console) showMaintenance(w http.ResponseWriter, r *http.Request, s *session, status int, msg string, f WindowForm) {
	windows, err := c.o.API.Windows()
	if err != nil {
		c.log.Warn("console: listing maintenance windows", "err", err)
	}
	d := maintenanceData{Windows: windows, Stores: c.o.Engine.Stores(), Error: msg, Form: f, Zones: map[string]string{}}
	for _, st := range d.Stores {
		d.Zones[st.Tenant+"/"+st.Store] = st.Info.TimeZone
	}
	c.render(w, r, s, status, "maintenance", "Maintenance windows", "maintenance", d)
}

func (c *Console) addWindow(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	win, err := ParseWindowForm(f, c.clk.Now(), s.Name, c.zone)
	if err == nil {
		_, err = c.o.API.AddWindow(api.WithAuthorization(r.Context(), s.Auth), win)
	}
	if err != nil {
		c.showMaintenance(w, r, s, http.StatusBadRequest, err.Error(),
			WindowForm{Store: f.Get("store"), Device: f.Get("device"), Start: f.Get("start"), Duration: f.Get("duration"), Reason: f.Get("reason")})
		return
	}
	c.flash(s, "Maintenance window added.")
	http.Redirect(w, r, Prefix+"maintenance", http.StatusSeeOther)
}

func (c *Console) deleteWindow(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.o.API.DeleteWindow(api.WithAuthorization(r.Context(), s.Auth), r.PathValue("id")); err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.flash(s, "Maintenance window ended.")
	http.Redirect(w, r, Prefix+"maintenance", http.StatusSeeOther)
}
