// Package security proves, against the real pieces, that repost keeps its
// secrets: repostd built from ./cmd/repostd runs against an embedded
// nats-server with user/password and TLS, a redis-server with AUTH and TLS
// (certificates made by the test), and the Marketo simulator, and none of
// the Marketo client secret, the access tokens, the NATS password or the
// Redis password appears in its log, its outcomes, its parked entries, its
// /metrics and /readyz answers, or the errors of a start that fails. It also
// checks that a plain-http Marketo endpoint is refused unless allowInsecure.
//
// The package has no product code: only the certificate helpers of pki.go,
// which other end-to-end suites may reuse.
package security
