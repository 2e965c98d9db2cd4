// Package chaos is repost's chaos harness: it runs the whole product as
// separate processes on loopback (a nats-server binary built from the
// version pinned in go.mod, a throwaway redis-server, cmd/marketo-sim with
// injected faults and several repostd replicas), publishes failed events,
// kills and restarts replicas, Redis and NATS during the drain, and then
// accounts for every event from the outcome stream and the simulator.
//
// Run does one such run and returns a Report; cmd/repostchaos wraps it for
// `make chaos`, and the package's test runs the short version in `make test`.
//
// Two tunings differ from a default deployment and are written into the
// report's parameters: the harness creates the JetStream consumers itself
// with a shorter AckWait (so that the events a SIGKILLed replica had fetched
// come back in seconds, not two minutes), and it gives repostd a short
// worker.leaseTTL (so that a killed replica's concurrency slots expire
// within the run).
package chaos
