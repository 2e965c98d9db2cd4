// Package marketo is a client for the parts of Marketo's REST API that
// repost needs: the identity endpoint, Sync Leads, Push Lead, and a GET helper
// for probes.
//
// One Client serves one subscription (a Munchkin ID). It obtains an access
// token with client credentials, shares it through a TokenStore (so that every
// replica uses one token and only one of them refreshes it), and sends it only
// as an Authorization: Bearer header. It reauthenticates once by itself when
// Marketo answers 601 or 602; every other failure is returned to the caller as
// a typed error so that the policy package can decide what to do:
//
//   - *HTTPError: an HTTP status other than 200 (401 from identity, 413, 414, 5xx);
//   - *APIError: a response-level error (success:false, code 6xx/7xx),
//     matched with errors.Is against the sentinels ErrRateLimited and friends;
//   - *BadResponseError: an answer that cannot be read (HTML, empty, truncated,
//     endless, the wrong number of results); always worth retrying;
//   - *NetError: the request did not complete (network error or timeout);
//   - *SizeError: the request was refused before sending (over 300 records or
//     over 1 MB), the caller should split it.
//
// Record-level outcomes (created, updated, skipped with reasons) are not
// errors: they come back in Response.Results, aligned with the input order.
//
// Every HTTP exchange, identity included, yields a CallRecord (passed to
// Config.OnCall and attached to the Response) with the client secret and the
// access token redacted, for the post-out log.
package marketo
