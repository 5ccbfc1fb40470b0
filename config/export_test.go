package config

// For generated_test.go (package config_test), which needs the drivers.

// Update is the tests' -update flag.
var Update = update
