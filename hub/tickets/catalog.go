package tickets

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

//go:embed content
var shipped embed.FS

// Files of a language directory.
const (
	templatesFile = "templates.tmpl"
	languageFile  = "language.yaml"
)

// TemplateNames are the templates every language defines: a title and a body
// for each kind, plus store_opened for a store-level incident (agent
// offline).
func TemplateNames() []string {
	var out []string
	for _, k := range append(Occasions, "store_opened") {
		out = append(out, string(k)+".title", string(k)+".body")
	}
	return out
}

// Catalog holds the ticket texts of every language: templates, words and
// runbooks, shipped and overridden. It is safe for concurrent use.
type Catalog struct {
	cfg     Config
	langs   map[string]*lang
	tenants map[string]map[string]*Language // tenant → language → runbook override
}

type lang struct {
	text *Language
	tmpl *template.Template
}

// Load builds the catalog: the shipped languages, the override directory
// laid over them, and each tenant's runbooks. Every language must end up
// complete, and every language the configuration names must exist.
func Load(cfg Config) (*Catalog, error) {
	if cfg.Language == "" {
		cfg.Language = "en"
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("tickets: %w", errs)
	}
	c := &Catalog{cfg: cfg, langs: map[string]*lang{}, tenants: map[string]map[string]*Language{}}
	base, _ := fs.Sub(shipped, "content")
	if err := c.addDir(base, "shipped content"); err != nil {
		return nil, err
	}
	if cfg.Dir != "" {
		if err := c.addDir(os.DirFS(cfg.Dir), cfg.Dir); err != nil {
			return nil, err
		}
	}
	var errs []string
	for name, l := range c.langs {
		if miss := l.text.Missing(); len(miss) > 0 {
			errs = append(errs, fmt.Sprintf("language %s lacks %s", name, strings.Join(miss, ", ")))
		}
		for _, t := range TemplateNames() {
			if l.tmpl.Lookup(t) == nil {
				errs = append(errs, fmt.Sprintf("language %s has no template %q", name, t))
			}
		}
	}
	need := func(what, code string) {
		if code != "" && c.langs[code] == nil {
			errs = append(errs, fmt.Sprintf("%s: no language %q (have %s)", what, code, strings.Join(c.Languages(), ", ")))
		}
	}
	need("language", cfg.Language)
	for t, tc := range cfg.Tenants {
		need("tenants."+t+".language", tc.Language)
		for s, code := range tc.Stores {
			need("tenants."+t+".stores."+s, code)
		}
		if tc.Runbooks != "" {
			if err := c.addRunbooks(t, tc.Runbooks); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("tickets: %s", strings.Join(errs, "\n"))
	}
	return c, nil
}

// addDir reads <lang>/language.yaml and <lang>/templates.tmpl for every
// language directory in fsys, laying them over what is already loaded.
func (c *Catalog) addDir(fsys fs.FS, where string) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("tickets: %s: %w", where, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		code := e.Name()
		if !ValidLanguageCode(code) {
			return fmt.Errorf("tickets: %s: directory %q is not named by a language code (en, de, pt-BR)", where, code)
		}
		l := c.langs[code]
		if l == nil {
			l = &lang{text: &Language{}, tmpl: template.New(code).Funcs(funcs)}
			c.langs[code] = l
		}
		if data, err := fs.ReadFile(fsys, code+"/"+languageFile); err == nil {
			o, err := ParseLanguage(filepath.Join(where, code, languageFile), data)
			if err != nil {
				return fmt.Errorf("tickets: %w", err)
			}
			l.text.merge(o)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("tickets: %w", err)
		}
		if data, err := fs.ReadFile(fsys, code+"/"+templatesFile); err == nil {
			if err := ParseTemplates(l.tmpl, filepath.Join(where, code, templatesFile), data); err != nil {
				return fmt.Errorf("tickets: %w", err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("tickets: %w", err)
		}
	}
	return nil
}

// ParseTemplates adds the {{define}}s of one template file to set; a name
// defined again replaces the earlier text, which is how an override file
// changes only the templates it names. Text outside {{define}} is an error:
// it would be silently ignored.
func ParseTemplates(set *template.Template, name string, data []byte) error {
	t, err := template.New(name).Funcs(funcs).Parse(string(data))
	if err != nil {
		return err
	}
	if t.Tree != nil && t.Tree.Root != nil && strings.TrimSpace(t.Tree.Root.String()) != "" {
		return fmt.Errorf("%s: text outside {{define \"...\"}} blocks", name)
	}
	for _, d := range t.Templates() {
		if d.Name() == name || d.Tree == nil {
			continue
		}
		if _, err := set.AddParseTree(d.Name(), d.Tree); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (c *Catalog) addRunbooks(tenant, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("tenants.%s.runbooks: %w", tenant, err)
	}
	for _, e := range entries {
		code, ok := strings.CutSuffix(e.Name(), ".yaml")
		if e.IsDir() || !ok {
			continue
		}
		if c.langs[code] == nil {
			return fmt.Errorf("tenants.%s.runbooks: %s: no language %q", tenant, e.Name(), code)
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("tenants.%s.runbooks: %w", tenant, err)
		}
		o, err := ParseLanguage(filepath.Join(dir, e.Name()), data)
		if err != nil {
			return err
		}
		if c.tenants[tenant] == nil {
			c.tenants[tenant] = map[string]*Language{}
		}
		c.tenants[tenant][code] = o
	}
	return nil
}

// Languages lists the loaded language codes, sorted.
func (c *Catalog) Languages() []string {
	out := make([]string, 0, len(c.langs))
	for k := range c.langs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LanguageFor returns the configured language of a store's tickets: the
// store's, else its tenant's, else the default.
func (c *Catalog) LanguageFor(tenant, store string) string {
	if tc, ok := c.cfg.Tenants[tenant]; ok {
		if l := tc.Stores[store]; l != "" {
			return l
		}
		if tc.Language != "" {
			return tc.Language
		}
	}
	return c.cfg.Language
}

// Has reports whether a language is loaded.
func (c *Catalog) Has(language string) bool { return c.langs[language] != nil }

// Text is a rendered ticket text.
type Text struct {
	Language string `json:"language"`
	Title    string `json:"title"` // one line
	Body     string `json:"body"`  // plain text
}

// Render writes the title and body of a notification in a language; an
// empty language means the store's configured one.
func (c *Catalog) Render(kind Occasion, in Brief, language string) (Text, error) {
	if !kind.Valid() {
		return Text{}, fmt.Errorf("tickets: unknown notification kind %q", kind)
	}
	if err := in.Check(); err != nil {
		return Text{}, fmt.Errorf("tickets: %w", err)
	}
	if language == "" {
		language = c.LanguageFor(in.Tenant, in.Store)
	}
	l := c.langs[language]
	if l == nil {
		return Text{}, fmt.Errorf("tickets: no language %q", language)
	}
	v := c.view(kind, in, language, l.text)
	name := string(kind)
	if kind == Opened && in.StoreLevel() {
		name = "store_opened"
	}
	var title, body strings.Builder
	if err := l.tmpl.ExecuteTemplate(&title, name+".title", v); err != nil {
		return Text{}, fmt.Errorf("tickets: %s: %w", language, err)
	}
	if err := l.tmpl.ExecuteTemplate(&body, name+".body", v); err != nil {
		return Text{}, fmt.Errorf("tickets: %s: %w", language, err)
	}
	return Text{Language: language, Title: oneLine(title.String()), Body: tidy(body.String())}, nil
}

// Steps returns the runbook steps for a fault on a device kind, as a ticket
// for tenant would show them.
func (c *Catalog) Steps(language, tenant string, code wire.FaultCode, kind string) string {
	l := c.langs[language]
	if l == nil {
		return ""
	}
	if o := c.tenants[tenant][language]; o != nil {
		if ft, ok := o.Faults[string(code)]; ok && len(ft.Steps) > 0 {
			if s := o.Steps(code, kind); s != "" {
				return s
			}
		}
	}
	return l.text.Steps(code, kind)
}

// View is what templates see: the incident's fields (embedded, so
// {{.Store}}, {{.Identity.Serial}} work) plus everything already put into
// the ticket's language and the store's time zone.
type View struct {
	Brief
	Notification                 Occasion
	Lang                         string
	KindName                     string // the device kind in words
	FaultTitle                   string
	Meaning                      string
	Steps                        string // the runbook steps for this fault on this kind of device
	RemedyClass                  wire.Remedy
	RemedyText                   string // who can fix it, in words
	PriorityName                 string // "P2 high"; empty without a priority
	OldPriority                  string // PreviousPriority the same way, when it differs
	FirstSeenLocal, FirstSeenUTC string
	ChangedLocal, ChangedUTC     string
	SLADueLocal, SLADueUTC       string
	Lasted                       string // from first seen to changed, "1h5m"
}

func (c *Catalog) view(kind Occasion, in Brief, language string, l *Language) View {
	loc := time.UTC
	if in.TimeZone != "" {
		if z, err := time.LoadLocation(in.TimeZone); err == nil {
			loc = z
		}
	}
	ft := l.Faults[string(in.Fault)]
	meaning, title := ft.Meaning, ft.Title
	if o := c.tenants[in.Tenant][language]; o != nil {
		if t, ok := o.Faults[string(in.Fault)]; ok {
			if t.Meaning != "" {
				meaning = t.Meaning
			}
			if t.Title != "" {
				title = t.Title
			}
		}
	}
	kindName := l.Kinds[in.Kind]
	if kindName == "" {
		kindName = in.Kind
	}
	remedy := in.RemedyClass()
	v := View{
		Brief:        in,
		Notification: kind,
		Lang:         language,
		KindName:     kindName,
		FaultTitle:   title,
		Meaning:      meaning,
		Steps:        strings.TrimSpace(c.Steps(language, in.Tenant, in.Fault, in.Kind)),
		RemedyClass:  remedy,
		RemedyText:   l.Remedies[string(remedy)],
		PriorityName: priorityName(l, in.Priority),
	}
	if in.PreviousPriority != 0 && in.PreviousPriority != in.Priority {
		v.OldPriority = priorityName(l, in.PreviousPriority)
	}
	v.FirstSeenLocal, v.FirstSeenUTC = stamp(in.FirstSeen, loc)
	v.ChangedLocal, v.ChangedUTC = stamp(in.Changed, loc)
	v.SLADueLocal, v.SLADueUTC = stamp(in.SLADue, loc)
	if !in.FirstSeen.IsZero() && in.Changed.After(in.FirstSeen) {
		v.Lasted = in.Changed.Sub(in.FirstSeen).Round(time.Minute).String()
		v.Lasted = strings.TrimSuffix(v.Lasted, "0s")
	}
	return v
}

func priorityName(l *Language, p int) string {
	if p == 0 {
		return ""
	}
	if n := l.Priorities[p]; n != "" {
		return fmt.Sprintf("P%d %s", p, n)
	}
	return fmt.Sprintf("P%d", p)
}

func stamp(t time.Time, loc *time.Location) (local, utc string) {
	if t.IsZero() {
		return "", ""
	}
	return t.In(loc).Format("2006-01-02 15:04 MST"), t.UTC().Format("2006-01-02 15:04 UTC")
}

var funcs = template.FuncMap{
	// indent prefixes every line of s with n spaces (runbook steps under a
	// heading).
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pad)
	},
	"join": strings.Join,
	// minutes and days give a window as a whole number, so each language can
	// put its own word after it.
	"minutes": func(d time.Duration) int { return int(d.Round(time.Minute) / time.Minute) },
	"days":    func(d time.Duration) int { return int((d + 12*time.Hour) / (24 * time.Hour)) },
	"plural":  plural,
}

// plural writes n with the word form its language uses for it: two forms
// (one, other) as in English, or three (one, few, many) as in Russian and
// the other East Slavic languages.
func plural(n int, forms ...string) string {
	form := ""
	switch len(forms) {
	case 2:
		form = forms[1]
		if n == 1 {
			form = forms[0]
		}
	case 3:
		switch m10, m100 := n%10, n%100; {
		case m10 == 1 && m100 != 11:
			form = forms[0]
		case m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14):
			form = forms[1]
		default:
			form = forms[2]
		}
	default:
		return strconv.Itoa(n)
	}
	return strconv.Itoa(n) + " " + form
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// tidy trims trailing blanks from lines and collapses runs of blank lines,
// so templates can use {{if}} freely.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true
	for _, ln := range lines {
		ln = strings.TrimRight(ln, " \t")
		if ln == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, ln)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

// ConsoleText returns a language's console: text for key, or "" when the
// language (or the key) is unknown.
func (c *Catalog) ConsoleText(language, key string) string {
	l := c.langs[language]
	if l == nil {
		return ""
	}
	return l.text.Console[key]
}

// Sentence says a timeline entry in a language: the sentence it names
// (Entry.Say) with its {placeholders} filled, {fault} as the fault's title
// and {notification} in words; the entry's own English text when it names
// none, or the language lacks it.
func (c *Catalog) Sentence(language string, e incident.Entry) string {
	l := c.langs[language]
	if l == nil || e.Say == "" || l.text.Console[e.Say] == "" {
		return e.Text
	}
	var pairs []string
	for k, v := range e.Args {
		switch k {
		case "fault":
			if t := l.text.Faults[v].Title; t != "" {
				v = t
			}
		case "notification":
			if t := l.text.Console["notification."+v]; t != "" {
				v = t
			}
		}
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(l.text.Console[e.Say])
}
