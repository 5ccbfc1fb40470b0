// Package bench is storewatch's benchmark harness: it measures the agent's
// footprint next to Debian's zabbix-agent2, the outbox next to
// mosquitto_pub, and a simulated retail chain against storehub, each side by
// side with its peer in the same run, and writes the figures into
// docs/benchmarks.md. scripts/bench runs it (quick mode for CI, full mode for
// the numbers); see README.md.
//
// The harness is a Go test binary (TestSuite in suite_test.go) so that it
// starts its real programs (mosquitto, storeagent, storehub, zabbix_agent2)
// with internal/testkit/testenv: on free loopback ports, stopped by pid. TestSuite
// does nothing unless -suite is given; the package's other tests check the
// harness's own parts (the Zabbix protocol, statistics, the chain's ground
// truth, the report writer) in every go test run.
package bench
