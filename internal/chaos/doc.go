// Package chaos is repost's chaos harness: it runs the whole product as
// separate processes on loopback (a nats-server binary built from the
// version pinned in go.mod, a throwaway redis-server, cmd/marketo-sim with
// injected faults and several repostd replicas), publishes failed events,
// kills and restarts replicas, Redis and NATS during the drain, and then
// accounts for every event from the outcome stream and the simulator.
//
// The mix, beside plain and demo failures: events near the 1 MiB max
// payload, out-of-order pairs of one lead (newer data first), and the
// events of a second subscription (PausedSub, on a simulator of its own)
// paused with `repostctl subscription pause` before they are published, in
// a POSTOUT_FAILED whose max age the harness shortens (Options.MaxAge,
// repostd's worker.expireMargin): they must be parked as expired before
// they age out. The accounting adds three checks to the outcome and limit
// checks: Marketo holds the newest data of every lead (its stored lastName
// against the lead's newest event), the paused subscription's events are
// parked as expired in time, and no Marketo call is repeated for records
// it had already answered (the simulator's answered-records log, with
// retries after an unread answer, a kill or a restart told apart).
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
