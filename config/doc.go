// Package config reads the agent's YAML configuration file.
//
// Decoding is strict: an unknown key is an error, reported with its line, so a
// typo never becomes a silently ignored setting. Load collects every mistake it
// can find (unknown keys, wrong types, values out of range) and returns them
// together as Errors, each with the line and the path of the setting
// ("devices[3].interval"), in words a store technician can act on. Checks that
// need the machine (does /dev/ttyUSB9 exist?) are left to run time.
//
// Secrets can come from the environment instead of the file: see ApplyEnv.
// agent.schema.json, generated from these types and checked by a test, lets
// editors complete and check the file.
package config
