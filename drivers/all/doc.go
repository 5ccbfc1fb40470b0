// Package all links every driver into a binary through blank imports, one
// file per driver, as Telegraf's plugins/inputs/all does. A smaller build can
// drop a driver by deleting (or build-tagging) its file.
package all
