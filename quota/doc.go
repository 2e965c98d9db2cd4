// Package quota keeps the limits of each Marketo subscription (one Munchkin
// ID) shared by every replica of the worker: the daily quota that resets at
// 00:00 America/Chicago, the exact sliding call window (Marketo counts "calls
// in the past 20 seconds"), concurrency leases, the blocks that Marketo's 606,
// 607 and 615 answers impose, the shared halt (603, identity 401), the
// adaptive effective concurrency, success marks for superseded leads and
// claims on lookup values in flight.
//
// Two implementations pass one conformance suite: Redis (every admission is
// one Lua script, one round trip, timed by Redis TIME; every key of a
// subscription shares the hash tag {<subscription>} so the scripts run on
// Redis Cluster) and Memory (one replica, demos and tests).
//
// A refusal is a value, not an error: Admit answers an Admission with
// Allowed false, the Limit that refused and an exact RetryAfter. Errors mean
// the store could not decide (Redis unreachable: ErrUnavailable), and the
// caller must then not call Marketo: the store fails closed.
//
// RedisTokenStore shares Marketo access tokens between replicas; it matches
// marketo.TokenStore structurally (this package does not import marketo).
package quota
