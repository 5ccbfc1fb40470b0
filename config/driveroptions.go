package config

import (
	"fmt"
	"strings"
)

// DriverOptions are one driver's device options (a device's options: map),
// for the JSON Schema and the reference. The drivers declare them
// (drivers.Info.Options); this package cannot import the drivers, so whoever
// knows both hands them over (the tests that generate agent.schema.json and
// README.md's reference).
type DriverOptions struct {
	Driver  string
	Options []DriverOption
}

// DriverOption is one option as the schema and the reference show it.
type DriverOption struct {
	Name    string
	Type    string // string, integer, number, boolean or duration
	Default string
	Values  []string // the values it takes, when they are a fixed set
	Secret  bool
	Doc     string
}

// optionSchema is what a value of the option may look like in the file.
// Option values reach the driver as text, so a number may be quoted.
func optionSchema(o DriverOption) map[string]any {
	var s map[string]any
	switch o.Type {
	case "integer":
		s = map[string]any{"type": []string{"integer", "string"}, "pattern": `^-?[0-9]+$`}
	case "number":
		s = map[string]any{"type": []string{"number", "string"}, "pattern": `^-?[0-9]+(\.[0-9]+)?$`}
	case "boolean":
		s = map[string]any{"type": []string{"boolean", "string"}, "pattern": `^(true|false)$`}
	case "duration":
		s = map[string]any{"type": "string", "pattern": durationPattern}
	default:
		s = map[string]any{"type": "string"}
	}
	if len(o.Values) > 0 {
		s["enum"] = o.Values
	}
	if o.Doc != "" {
		s["description"] = o.Doc
	}
	if o.Default != "" {
		s["default"] = o.Default
	}
	if o.Secret {
		s["writeOnly"] = true
	}
	return s
}

// driverSchemas says, for each driver, which options a device of that
// driver takes (JSON Schema if/then on the device's driver).
func driverSchemas(drivers []DriverOptions) []any {
	out := make([]any, 0, len(drivers))
	for _, d := range drivers {
		props := map[string]any{}
		for _, o := range d.Options {
			props[o.Name] = optionSchema(o)
		}
		out = append(out, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"driver": map[string]any{"const": d.Driver}}, "required": []string{"driver"}},
			"then": map[string]any{"properties": map[string]any{"options": map[string]any{"type": "object", "properties": props, "additionalProperties": false}}},
		})
	}
	return out
}

// driverReference is the table of driver options in the reference.
func driverReference(b *strings.Builder, drivers []DriverOptions) {
	b.WriteString("\n| driver | option (`devices[].options`) | type | default | meaning |\n|---|---|---|---|---|\n")
	for _, d := range drivers {
		if len(d.Options) == 0 {
			fmt.Fprintf(b, "| `%s` | — | | | takes no options |\n", d.Driver)
			continue
		}
		for _, o := range d.Options {
			desc := o.Doc
			if len(o.Values) > 0 {
				desc += " (" + strings.Join(o.Values, ", ") + ")"
			}
			if o.Secret {
				desc += "; secret: never logged"
			}
			def := "—"
			if o.Default != "" {
				def = "`" + o.Default + "`"
			}
			fmt.Fprintf(b, "| `%s` | `%s` | %s | %s | %s |\n", d.Driver, o.Name, o.Type, def, esc(desc))
		}
	}
}
