package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Reference renders the configuration reference as Markdown tables, from the
// same struct tags as the schema: one row per setting, with its type, default
// and meaning, then one row per driver option. README.md embeds it; a test
// keeps the copy current.
func Reference(drivers ...DriverOptions) string {
	var b strings.Builder
	b.WriteString("| setting | type | default | meaning |\n|---|---|---|---|\n")
	referenceRows(&b, reflect.TypeOf(Agent{}), "")
	if len(drivers) > 0 {
		driverReference(&b, drivers)
	}
	return b.String()
}

func referenceRows(b *strings.Builder, t reflect.Type, prefix string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" || !f.IsExported() {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		elem := ft
		suffix := ""
		if ft.Kind() == reflect.Slice {
			elem, suffix = ft.Elem(), "[]"
		}
		desc := f.Tag.Get("doc")
		if e := f.Tag.Get("enum"); e != "" {
			desc = strings.TrimSpace(desc + " (" + strings.ReplaceAll(e, ",", ", ") + ")")
		}
		if f.Tag.Get("secret") == "true" {
			desc += "; secret: never logged"
		}
		def := f.Tag.Get("default")
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		if elem.Kind() == reflect.Struct && elem != durationType {
			fmt.Fprintf(b, "| **`%s%s`** | section | | %s |\n", path, suffix, esc(desc))
			referenceRows(b, elem, path+suffix)
			continue
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", path, typeName(ft), def, esc(desc))
	}
}

func typeName(t reflect.Type) string {
	switch t {
	case durationType:
		return "duration"
	case byteSizeType:
		return "size"
	}
	switch t.Kind() {
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	}
	return "string"
}

func esc(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
