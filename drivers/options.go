package drivers

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options are a device's driver-specific settings from the config file. A
// factory reads what it understands with the typed getters and then calls
// Err, which reports bad values and every option it did not read, so a typo
// in the config is an error and not a silently ignored setting.
type Options struct {
	values map[string]string
	used   map[string]bool
	errs   []error
	// declared are the options the driver's Info lists (nil: not known,
	// for a driver built without New).
	declared []Option
}

// declare tells the options which ones the driver declares, so that an
// unknown one is reported with the list, and a driver reading one it does
// not declare learns it in its tests.
func (o *Options) declare(opts []Option) { o.declared = append([]Option{}, opts...) }

// NewOptions wraps a device's option map.
func NewOptions(m map[string]string) Options {
	return Options{values: m, used: map[string]bool{}}
}

// Has reports whether the option is set.
func (o *Options) Has(key string) bool { _, ok := o.values[key]; return ok }

// String returns the option or def.
func (o *Options) String(key, def string) string {
	if o.used == nil {
		o.used = map[string]bool{}
	}
	if o.declared != nil && !o.used[key] && !slices.ContainsFunc(o.declared, func(d Option) bool { return d.Name == key }) {
		o.errs = append(o.errs, fmt.Errorf("option %s: the driver reads it but its Info does not declare it (a bug)", key))
	}
	o.used[key] = true
	if v, ok := o.values[key]; ok {
		return v
	}
	return def
}

// Int returns the option as an integer, or def.
func (o *Options) Int(key string, def int) int {
	v := o.String(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		o.errs = append(o.errs, fmt.Errorf("option %s: %q is not a whole number", key, v))
		return def
	}
	return n
}

// Float returns the option as a number, or def.
func (o *Options) Float(key string, def float64) float64 {
	v := o.String(key, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		o.errs = append(o.errs, fmt.Errorf("option %s: %q is not a number", key, v))
		return def
	}
	return f
}

// Bool returns the option as a boolean, or def.
func (o *Options) Bool(key string, def bool) bool {
	v := o.String(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		o.errs = append(o.errs, fmt.Errorf("option %s: %q is not true or false", key, v))
		return def
	}
	return b
}

// Duration returns the option as a duration ("5s"), or def.
func (o *Options) Duration(key string, def time.Duration) time.Duration {
	v := o.String(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		o.errs = append(o.errs, fmt.Errorf("option %s: %q is not a duration such as 5s", key, v))
		return def
	}
	return d
}

// Fail records a validation error found by the factory.
func (o *Options) Fail(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf(format, args...))
}

// Err reports bad values and options the driver does not know.
func (o *Options) Err() error {
	var unknown []string
	for k := range o.values {
		if !o.used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	errs := append([]error{}, o.errs...)
	takes := ""
	if o.declared != nil {
		takes = " (it takes none)"
		if len(o.declared) > 0 {
			takes = " (it takes " + strings.Join(optionNames(o.declared), ", ") + ")"
		}
	}
	for _, k := range unknown {
		errs = append(errs, fmt.Errorf("option %s: not known to this driver%s", k, takes))
	}
	return errors.Join(errs...)
}
