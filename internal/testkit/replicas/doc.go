// Package replicas holds the integration tests of several storehub
// replicas (hub/cluster): the storehub binary run as child processes over
// a real PostgreSQL and a real 3-node nats-server cluster, killed with
// SIGKILL, restarted one by one, with the broker's nodes and the database
// taken away under load; what they check is what docs/hub.md ("Running
// several replicas") promises. It has no code of its own.
package replicas
