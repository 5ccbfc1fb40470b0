package config

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// The default tags (shown in the schema and the README) must be what Load
// really fills in.
func TestDefaultTagsAreTheRealDefaults(t *testing.T) {
	data := []byte("tenant: a\nstore: b\nagent: c\nsite:\n  timezone: UTC\nhost: {}\ndevices:\n  - {id: d, kind: other, driver: x, address: 'tcp://h:1'}\n")
	cfg, _, err := Parse("min.yaml", data, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				f := v.Type().Field(i)
				p := path + "." + yamlName(f)
				if def := f.Tag.Get("default"); def != "" {
					checked++
					if got := formatValue(v.Field(i)); got != normalizeDefault(f.Type, def) {
						t.Errorf("%s: default tag says %q, Load gives %q", p, def, got)
					}
				}
				walk(v.Field(i), p)
			}
		}
	}
	walk(reflect.ValueOf(cfg).Elem(), "")
	if checked < 10 {
		t.Errorf("only %d defaults checked", checked)
	}
}

func formatValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String()
	case ByteSize:
		return x.String()
	}
	return fmt.Sprint(v.Interface())
}

func normalizeDefault(t reflect.Type, def string) string {
	switch t {
	case durationType:
		d, _ := time.ParseDuration(def)
		return d.String()
	case byteSizeType:
		b, _ := ParseByteSize(def)
		return b.String()
	}
	return def
}
