// Package repost is the event model of the repost worker: what a failed
// post-out event is (CONTRACT §3), what became of it (an Outcome, §4) and how
// a lead waiting for a human is kept (a ParkedLead, §5).
//
// Decoding is strict because a malformed event must never be retried: every
// rule it breaks is an *InvalidEventError naming the field, and the worker
// parks such an event under code "invalid" with the error as its reason. What
// decodes is kept exactly as sent: the request content keeps its unknown keys
// verbatim and its numbers as json.Number, so a repost sends what DAP sent,
// and unknown top-level keys survive a re-encoding.
//
// The package imports only the standard library and policy.
package repost
