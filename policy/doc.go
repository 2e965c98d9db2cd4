// Package policy decides what to do with a failed post-out: reauthenticate,
// wait out a limit, retry with backoff, split the call, park the lead for a
// human or skip it. It is a table from code to rule with an explicit default
// and a pure Decide function: no I/O and no clock of its own, so every
// decision can be replayed and explained.
//
// The table is CONTRACT §6 row by row (table.go). Codes the seed documents
// name but no row lists keep Marketo's description and follow the
// contract's "anything else" row: retry as transient, then park as
// retries-exhausted. A config can override the action of any code.
//
// Retry delays follow cenkalti/backoff/v4's ExponentialBackOff formula with
// an injected random source; a 607 waits for the next 00:00 in
// America/Chicago, read from the embedded time/tzdata so that it loads
// everywhere.
//
// It imports only the standard library.
package policy
