// Package cli is the one command-line style of storeagent and storehub: a
// program is a table of subcommands, each with a one-line summary and a
// function that returns the exit code (Fallible makes one of a function that
// returns an error). Run dispatches:
// "help", -h and --help print the usage on stdout; no command or an unknown
// one prints it on stderr with exit code 2.
package cli
