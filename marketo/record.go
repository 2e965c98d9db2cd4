package marketo

import (
	"bytes"
	"regexp"
	"sync"
	"time"
)

// CallRecord describes one HTTP exchange with Marketo, for the post-out log
// and metrics. Bodies are truncated to RecordBodyLimit bytes and carry
// neither the client secret nor any access token.
type CallRecord struct {
	Subscription string
	Method       string        // as sent: POST for a GET sent with _method=GET
	Path         string        // URL path, never the query
	Endpoint     string        // REST base URL
	Records      int           // input records sent
	Status       int           // HTTP status, 0 when no answer came
	Code         string        // "ok", a Marketo code ("606"), an HTTP status ("413"), "bad-response", "timeout" or "network"
	RequestID    string        // Marketo's requestId, when the answer had one
	At           time.Time     // when the request started
	Duration     time.Duration // until the body was read
	RequestBody  []byte
	ResponseBody []byte
	Err          string // the error's message, redacted; empty on success
}

// Call codes that are not numbers.
const (
	CallOK          = "ok"
	CallBadResponse = "bad-response"
	CallTimeout     = "timeout"
	CallNetwork     = "network"
)

const redacted = "[redacted]"

// Credentials in the forms they take on the wire: JSON fields, query
// parameters, headers.
var credentialPattern = regexp.MustCompile(`("access_token"\s*:\s*")[^"]*(")|((?:access_token|client_secret)=)[^&\s"]*()|((?i:bearer)\s+)[A-Za-z0-9._~+/:=-]+()`)

// redactor removes the client secret and the access tokens this client has
// seen from anything that leaves it (records, errors, logs).
type redactor struct {
	secret []byte
	mu     sync.RWMutex
	tokens [][]byte // most recent last, a few kept
}

func newRedactor(secret string) *redactor { return &redactor{secret: []byte(secret)} }

// remember adds a token to redact.
func (r *redactor) remember(token string) {
	if token == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tokens {
		if string(t) == token {
			return
		}
	}
	r.tokens = append(r.tokens, []byte(token))
	if len(r.tokens) > 8 {
		r.tokens = r.tokens[1:]
	}
}

// bytes returns b without secrets, in a new slice only when something changed.
func (r *redactor) bytes(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	if len(r.secret) > 0 && bytes.Contains(b, r.secret) {
		b = bytes.ReplaceAll(b, r.secret, []byte(redacted))
	}
	r.mu.RLock()
	for _, t := range r.tokens {
		if bytes.Contains(b, t) {
			b = bytes.ReplaceAll(b, t, []byte(redacted))
		}
	}
	r.mu.RUnlock()
	if hasCredentialMarker(b) {
		b = credentialPattern.ReplaceAll(b, []byte("${1}${3}${5}"+redacted+"${2}${4}${6}"))
	}
	return b
}

func hasCredentialMarker(b []byte) bool {
	return bytes.Contains(b, []byte("access_token")) || bytes.Contains(b, []byte("client_secret")) ||
		bytes.Contains(b, []byte("earer"))
}

// string is bytes for strings.
func (r *redactor) string(s string) string { return string(r.bytes([]byte(s))) }

// clip redacts b and keeps at most RecordBodyLimit bytes of it, in a new slice.
func (r *redactor) clip(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	// Redact only what can be kept: a secret starting before the limit ends
	// within the margin.
	if margin := RecordBodyLimit + max(len(r.secret), 1024); len(b) > margin {
		b = b[:margin]
	}
	b = r.bytes(b)
	if len(b) > RecordBodyLimit {
		b = b[:RecordBodyLimit]
	}
	return bytes.Clone(b)
}

// snippet is clip for error messages: shorter, as a string.
func (r *redactor) snippet(b []byte) string {
	b = r.bytes(b)
	const max = 512
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
