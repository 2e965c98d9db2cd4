// Package marketotest is a Marketo REST API simulator in the spirit of
// net/http/httptest: tests, the demo, the benchmarks and cmd/marketo-sim talk
// to it as they would to a real Marketo instance.
//
// It answers what the real service answers (see FACTS.md and the seed
// documents of the project): identity with client credentials, Sync Leads
// (POST /rest/v1/leads.json), Push Lead (POST /rest/v1/leads/push.json) and
// Get Leads by Filter Type (GET /rest/v1/leads.json?filterType=…, or POST
// with _method=GET and a form body);
// response-level errors as HTTP 200 with success:false and a quoted code;
// record-level errors as a skipped result with reasons, results in input order.
//
// Marketo's limits are on by default (100 calls per 20 s → 606, 10 calls in
// flight → 615, 50,000 calls a day reset at 00:00 America/Chicago → 607, a body
// over 1 MiB → HTTP 413, over 300 records → 1003). Calls answered 601, 602,
// 604, 605, 608 or 611 count toward neither the quota nor the window; every
// other REST call does, refused ones included. Identity calls are never
// limited nor faulted. Checks run in Marketo's order: URI (414) and body
// (413) size, token (601/602), method (605), limits (607, 606, 615), path
// (610), content type (612), JSON (609), call parameters, then records.
//
// Pause and Resume hold admitted calls in flight, so a test can fill the
// concurrency limit exactly; Stats, CallLog and the lead accessors let it
// assert on what a client did; AdminHandler serves the same as JSON for
// tests in other processes (cmd/marketo-sim).
//
// Faults (604, 608, 611, 713, HTTP 502, HTML pages, truncated JSON, dropped
// connections, slow answers) are drawn from a seed: call number n always gets
// the same fault for the same seed, whatever happened before.
//
// Choices where Marketo's documentation is silent, made once here:
//   - Missing or empty input: response-level 701 "'input' cannot be blank".
//     More than MaxBatch records: response-level 1003.
//   - Push Lead without programName: response-level 1002
//     "Missing value for required parameter 'programName'". An unknown program
//     skips every record with 1013 "Object not found"; a status outside the
//     program's channel skips it with 1025 "Program status not found"; a status
//     the lead already has or is past skips it with 1037 "Lead skipped".
//   - The same key twice in one call: records are applied in order (the second
//     one updates the lead the first created). The same key in two calls in
//     flight at once: both may create, as Marketo does, leaving duplicate
//     leads (later lookups answer 1007); Stats.SameKeyInFlight counts it.
//   - A token in the access_token query parameter is refused with 601 unless
//     Options.AllowQueryToken; either way Stats.QueryTokenUses counts it.
package marketotest
