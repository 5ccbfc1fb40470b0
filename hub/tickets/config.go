package tickets

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/storewatch/storewatch/config"
)

// Config chooses the ticket language per tenant and store and points at the
// operator's overrides. It is meant to sit in the hub's configuration file
// under "tickets:".
type Config struct {
	// Language is the default language of ticket texts: en, de, ru, or one
	// the override directory adds. Default en.
	Language string `yaml:"language"`
	// Dir is an override directory with the same layout as the shipped
	// content: <lang>/templates.tmpl (redefines any {{define}} it holds) and
	// <lang>/language.yaml (replaces the texts and steps it gives). A new
	// directory <lang>/ adds a language; it must then be complete.
	Dir string `yaml:"dir"`
	// Tenants holds per-tenant choices, by tenant id.
	Tenants map[string]TenantConfig `yaml:"tenants"`
}

// TenantConfig is one tenant's ticket language and runbook overrides.
type TenantConfig struct {
	Language string `yaml:"language"`
	// Runbooks is a directory of <lang>.yaml files in the language-file
	// format; their fault texts and steps replace the shipped ones for this
	// tenant only (the tenant's own procedures, phone numbers, spare-part
	// depot).
	Runbooks string `yaml:"runbooks"`
	// Stores maps a store id to its language, for a tenant whose stores
	// speak different languages.
	Stores map[string]string `yaml:"stores"`
}

var langCode = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

// ValidLanguageCode reports whether s looks like a language tag (en, de,
// pt-BR): the name of a content directory.
func ValidLanguageCode(s string) bool { return langCode.MatchString(s) }

// Validate reports every mistake, with paths relative to this section
// (tenants.acme.language) and no file or line: the hub's loader prefixes the
// section's path and finds the line (config.Lines.Error). Whether a language
// exists is checked when the catalog loads.
func (c Config) Validate() config.Errors {
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Language != "" && !ValidLanguageCode(c.Language) {
		bad("language", "%q is not a language code such as en, de or ru", c.Language)
	}
	tenants := make([]string, 0, len(c.Tenants))
	for t := range c.Tenants {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	for _, t := range tenants {
		tc := c.Tenants[t]
		if tc.Language != "" && !ValidLanguageCode(tc.Language) {
			bad("tenants."+t+".language", "%q is not a language code such as en, de or ru", tc.Language)
		}
		for s, l := range tc.Stores {
			if !ValidLanguageCode(l) {
				bad("tenants."+t+".stores."+s, "%q is not a language code such as en, de or ru", l)
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	return errs
}
