package tickets

import (
	"flag"
	"github.com/storewatch/storewatch/hub/incident"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var shippedLanguages = []string{"de", "en", "ru"}

func load(t *testing.T, cfg Config) *Catalog {
	t.Helper()
	c, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// shippedLanguage parses one shipped language file on its own, without
// anything laid over it.
func shippedLanguage(t *testing.T, code string) *Language {
	t.Helper()
	data, err := fs.ReadFile(shipped, "content/"+code+"/"+languageFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLanguage(code, data)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestShippedLanguages(t *testing.T) {
	c := load(t, Config{})
	if got := c.Languages(); !slices.Equal(got, shippedLanguages) {
		t.Fatalf("languages %v, want %v", got, shippedLanguages)
	}
}

// Every fault code in the vocabulary has, in every shipped language, a
// title, a meaning and default runbook steps, and the translations are
// translations: not English left in place.
func TestEveryFaultHasRunbookAndTranslation(t *testing.T) {
	en := shippedLanguage(t, "en")
	for _, code := range shippedLanguages {
		l := shippedLanguage(t, code)
		for _, miss := range l.Missing() {
			t.Errorf("%s lacks %s", code, miss)
		}
		if code == "en" {
			continue
		}
		for _, f := range wire.Vocabulary() {
			ft, eft := l.Faults[string(f.Code)], en.Faults[string(f.Code)]
			if ft.Title == eft.Title || ft.Meaning == eft.Meaning || ft.Steps[DefaultStep] == eft.Steps[DefaultStep] {
				t.Errorf("%s: %s is still in English", code, f.Code)
			}
			for kind := range ft.Steps {
				if _, ok := eft.Steps[kind]; !ok {
					t.Errorf("%s: %s has steps for %s that English lacks", code, f.Code, kind)
				}
			}
			for kind := range eft.Steps {
				if _, ok := ft.Steps[kind]; !ok {
					t.Errorf("%s: %s lacks the %s steps English has", code, f.Code, kind)
				}
			}
		}
	}
}

// Every notification kind renders for every fault code on every device kind
// in every language, and the body carries what first-line support asks for.
func TestRenderEveryCodeKindAndLanguage(t *testing.T) {
	c := load(t, Config{})
	for _, code := range shippedLanguages {
		for _, f := range wire.Vocabulary() {
			for _, devKind := range config.Kinds {
				in := sample()
				in.Fault, in.Kind, in.Remedy = f.Code, devKind, ""
				if f.Code == wire.FaultAgentOffline {
					in.Device = ""
				}
				for _, kind := range Occasions {
					tk, err := c.Render(kind, in, code)
					if err != nil {
						t.Fatalf("%s %s %s %s: %v", code, f.Code, devKind, kind, err)
					}
					if tk.Title == "" || strings.Contains(tk.Title, "\n") || strings.Contains(tk.Title+tk.Body, "<no value>") {
						t.Fatalf("%s %s %s %s: bad text:\n%s\n%s", code, f.Code, devKind, kind, tk.Title, tk.Body)
					}
					if kind != Opened && kind != Flapping && kind != Chronic {
						continue
					}
					steps := c.Steps(code, in.Tenant, f.Code, devKind)
					for _, want := range []string{in.Key, strings.SplitN(strings.TrimSpace(steps), "\n", 2)[0], string(f.Remedy)} {
						if !strings.Contains(tk.Body, want) {
							t.Fatalf("%s %s %s %s: body lacks %q:\n%s", code, f.Code, devKind, kind, want, tk.Body)
						}
					}
					if in.Device != "" {
						for _, want := range []string{in.Identity.Serial, in.Identity.Model, in.Identity.Firmware, in.Address, in.Location, "10:58 CET", "09:58 UTC", "15:00 CET"} {
							if !strings.Contains(tk.Body, want) {
								t.Fatalf("%s %s %s %s: body lacks %q:\n%s", code, f.Code, devKind, kind, want, tk.Body)
							}
						}
					}
				}
			}
		}
	}
}

// The golden files show a whole ticket per language and kind; they are the
// reviewable record of what support sees. Run with -update to rewrite them.
func TestGoldenTickets(t *testing.T) {
	c := load(t, Config{})
	cases := map[string]func(*Brief){
		"opened":   func(*Brief) {},
		"updated":  func(*Brief) {},
		"resolved": func(*Brief) {},
		"closed":   func(in *Brief) { in.ClosedBy, in.Reason = "j.doe", "printer replaced" },
		"flapping": func(*Brief) {},
		"chronic":  func(*Brief) {},
		"dispatch": func(in *Brief) {
			in.Key, in.Fault, in.Detail = "acme/0042/prn1/head_fault", wire.FaultHeadFault, "~HQES group1 0x40"
		},
		"store_opened": func(in *Brief) {
			in.Key, in.Device, in.Fault = "acme/0042/agent_offline", "", wire.FaultAgentOffline
			in.AffectedDevices = []string{"prn1", "scale1"}
		},
		"autoclose": func(in *Brief) { in.AutoClose = true },
	}
	kindOf := map[string]Occasion{"dispatch": Opened, "store_opened": Opened, "autoclose": Resolved}
	for _, code := range shippedLanguages {
		for name, edit := range cases {
			in := sample()
			edit(&in)
			kind := kindOf[name]
			if kind == "" {
				kind = Occasion(name)
			}
			tk, err := c.Render(kind, in, code)
			if err != nil {
				t.Fatal(err)
			}
			got := tk.Title + "\n\n" + tk.Body
			path := filepath.Join("testdata", "golden", code+"-"+name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	c := load(t, Config{Language: "en", Tenants: map[string]TenantConfig{
		"acme": {Language: "de", Stores: map[string]string{"0007": "ru"}},
		"bolt": {Stores: map[string]string{"0001": "de"}},
	}})
	for _, tc := range []struct{ tenant, store, want string }{
		{"acme", "0042", "de"}, // the tenant's language
		{"acme", "0007", "ru"}, // the store's own language wins
		{"bolt", "0002", "en"}, // no tenant language: the default
		{"bolt", "0001", "de"},
		{"other", "1", "en"},
	} {
		if got := c.LanguageFor(tc.tenant, tc.store); got != tc.want {
			t.Errorf("LanguageFor(%s, %s) = %s, want %s", tc.tenant, tc.store, got, tc.want)
		}
	}
	in := sample()
	tk, err := c.Render(Opened, in, "")
	if err != nil || tk.Language != "de" || !strings.Contains(tk.Title, "Papier leer") {
		t.Fatalf("acme's ticket: %+v, %v", tk, err)
	}
}

func TestOverrideDirectory(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/override/en", filepath.Join(dir, "en"))
	c := load(t, Config{Dir: dir})
	tk, err := c.Render(Opened, sample(), "en")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Title != "[0042] Paper out on till printer" {
		t.Errorf("overridden title: %q", tk.Title)
	}
	if !strings.Contains(tk.Body, "drawer under the till (part 80x80)") {
		t.Errorf("overridden step missing:\n%s", tk.Body)
	}
	if !strings.Contains(tk.Body, "Serial number: X5E1234567") {
		t.Errorf("templates the override does not name must stay:\n%s", tk.Body)
	}
	// Other kinds keep the shipped steps.
	in := sample()
	in.Kind = "label_printer"
	tk, _ = c.Render(Opened, in, "en")
	if !strings.Contains(tk.Body, "Load a new label roll") {
		t.Errorf("label printer steps changed:\n%s", tk.Body)
	}
}

func TestIncompleteNewLanguageIsRefused(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/override/fr", filepath.Join(dir, "fr"))
	_, err := Load(Config{Dir: dir})
	if err == nil {
		t.Fatal("an incomplete language loaded")
	}
	for _, want := range []string{"language fr lacks", "faults.paper_out.steps.default", "kinds.scale", `no template "opened.title"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestTenantRunbook(t *testing.T) {
	c := load(t, Config{Tenants: map[string]TenantConfig{"acme": {Runbooks: "testdata/tenant-acme"}}})
	in := sample()
	tk, _ := c.Render(Opened, in, "en")
	if !strings.Contains(tk.Body, "back office shelf B2") {
		t.Errorf("acme's own step missing:\n%s", tk.Body)
	}
	in.Tenant = "bolt"
	tk, _ = c.Render(Opened, in, "en")
	if strings.Contains(tk.Body, "shelf B2") || !strings.Contains(tk.Body, "Load a new paper roll") {
		t.Errorf("another tenant got acme's step:\n%s", tk.Body)
	}
}

func TestConfigMistakes(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Language: "english"}, `language: "english" is not a language code`},
		{Config{Language: "xx"}, `language: no language "xx" (have de, en, ru)`},
		{Config{Tenants: map[string]TenantConfig{"acme": {Language: "fr"}}}, `tenants.acme.language: no language "fr"`},
		{Config{Tenants: map[string]TenantConfig{"acme": {Stores: map[string]string{"1": "EN!"}}}}, `tenants.acme.stores.1: "EN!" is not a language code`},
		{Config{Tenants: map[string]TenantConfig{"acme": {Runbooks: "testdata/nonexistent"}}}, `tenants.acme.runbooks:`},
		{Config{Dir: "testdata/nonexistent"}, `testdata/nonexistent`},
	} {
		_, err := Load(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%+v) = %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
}

func TestRenderRefusesBadInput(t *testing.T) {
	c := load(t, Config{})
	in := sample()
	in.Fault = "toaster_on_fire"
	if _, err := c.Render(Opened, in, "en"); err == nil || !strings.Contains(err.Error(), "unknown fault code") {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := c.Render("exploded", sample(), "en"); err == nil {
		t.Error("unknown kind rendered")
	}
	if _, err := c.Render(Opened, sample(), "xx"); err == nil {
		t.Error("unknown language rendered")
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n     int
		forms []string
		want  string
	}{
		{1, []string{"time", "times"}, "1 time"},
		{0, []string{"time", "times"}, "0 times"},
		{5, []string{"time", "times"}, "5 times"},
		{1, []string{"раз", "раза", "раз"}, "1 раз"},
		{3, []string{"раз", "раза", "раз"}, "3 раза"},
		{5, []string{"раз", "раза", "раз"}, "5 раз"},
		{11, []string{"раз", "раза", "раз"}, "11 раз"},
		{12, []string{"раз", "раза", "раз"}, "12 раз"},
		{21, []string{"раз", "раза", "раз"}, "21 раз"},
		{22, []string{"раз", "раза", "раз"}, "22 раза"},
	} {
		if got := plural(c.n, c.forms...); got != c.want {
			t.Errorf("plural(%d, %v) = %q, want %q", c.n, c.forms, got, c.want)
		}
	}
}

// Timeline entries read as sentences in each language, with the fault's
// title instead of its code; an entry that names no sentence keeps its
// English text.
func TestTimelineSentences(t *testing.T) {
	cat, err := Load(Config{})
	if err != nil {
		t.Fatal(err)
	}
	opened := incident.Entry{Text: "opened: paper_out since ...", Say: incident.SayOpened,
		Args: map[string]string{"fault": "paper_out", "since": "2026-12-07 08:15:00 CET", "hold_down": "2m", "priority": "2"}}
	notified := incident.Entry{Text: "opened notification queued for helpdesk connectors", Say: incident.SayNotified,
		Args: map[string]string{"notification": "opened"}}
	for _, c := range []struct {
		lang string
		e    incident.Entry
		want string
	}{
		{"en", opened, "Opened: Paper out since 2026-12-07 08:15:00 CET, longer than its hold-down of 2m. Priority P2."},
		{"de", opened, "Eröffnet: Papier leer seit 2026-12-07 08:15:00 CET, länger als die Haltezeit von 2m. Priorität P2."},
		{"ru", notified, "Передано коннекторам хелпдеска: новый тикет."},
		{"en", notified, "Handed to the helpdesk connectors: new ticket."},
		{"en", incident.Entry{Text: "a comment by a person"}, "a comment by a person"},
		{"fr", opened, opened.Text},
	} {
		if got := cat.Sentence(c.lang, c.e); got != c.want {
			t.Errorf("%s %s:\n got  %s\n want %s", c.lang, c.e.Say, got, c.want)
		}
	}
	for _, lang := range cat.Languages() {
		for _, k := range ConsoleKeys() {
			if cat.ConsoleText(lang, k) == "" {
				t.Errorf("%s lacks console.%s", lang, k)
			}
		}
	}
}
