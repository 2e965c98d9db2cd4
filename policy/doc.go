// Package policy decides what to do with a failed post-out: reauthenticate,
// wait out a limit, retry with backoff, split the call, park the lead for a
// human or skip it. It is a table from code to rule with an explicit default
// and a pure Decide function: no I/O and no clock of its own, so every
// decision can be replayed and explained.
//
// It imports only the standard library.
package policy
