package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// SchemaID is the $id of the generated JSON Schema.
const SchemaID = "https://storewatch.example/schemas/agent.schema.json"

// Schema returns a JSON Schema (draft 2020-12) of the agent configuration,
// generated from the Go types and the drivers' options, for editors that
// complete and check YAML.
func Schema(drivers ...DriverOptions) ([]byte, error) {
	s := schemaOf(reflect.TypeOf(Agent{}))
	if len(drivers) > 0 {
		devices := s["properties"].(map[string]any)["devices"].(map[string]any)["items"].(map[string]any)
		devices["allOf"] = driverSchemas(drivers)
	}
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "storeagent configuration"
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	byteSizeType = reflect.TypeOf(ByteSize(0))
)

const durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

func schemaOf(t reflect.Type) map[string]any {
	switch t {
	case durationType:
		return map[string]any{"type": "string", "pattern": durationPattern, "examples": []string{"30s", "5m"}}
	case byteSizeType:
		return map[string]any{"type": []string{"string", "integer"}, "pattern": `^[0-9.]+\s*(B|KB|MB|GB|KiB|MiB|GiB)?$`, "examples": []string{"64MiB"}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Float64, reflect.Float32:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" || !f.IsExported() {
				continue
			}
			ps := schemaOf(f.Type)
			if d := f.Tag.Get("doc"); d != "" {
				ps["description"] = d
			}
			if e := f.Tag.Get("enum"); e != "" {
				ps["enum"] = strings.Split(e, ",")
			}
			if f.Tag.Get("secret") == "true" {
				ps["writeOnly"] = true
			}
			if d := f.Tag.Get("default"); d != "" {
				ps["default"] = d
			}
			props[name] = ps
			if f.Tag.Get("required") == "true" {
				required = append(required, name)
			}
		}
		out := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
		if len(required) > 0 {
			out["required"] = required
		}
		return out
	}
	return map[string]any{}
}
