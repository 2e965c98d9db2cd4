package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// redacted is what every rendering of a secret shows instead of its value.
const redacted = "[redacted]"

// Secret is a string that must never reach a log, an error or an outcome: a
// client secret, a password. Every rendering (fmt with any verb, JSON, YAML,
// text, slog) shows "[redacted]", or nothing when the secret is empty so that
// a missing secret stays visible as missing. Reveal returns the value for the
// one place that must send it.
type Secret string

// Reveal returns the secret itself. Call it only where the value is sent.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format renders the secret as [redacted] whatever the verb, so that %v, %+v,
// %#v, %s, %q, %x of a struct holding it never show the value.
func (s Secret) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s.String()) }

// MarshalJSON writes "[redacted]" (or "").
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML writes [redacted] (or ""); Config.Redacted relies on it.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText writes [redacted] (or "") for text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue keeps log/slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// URL is a server address that may carry credentials in its userinfo
// (redis://:password@host:6379/0, nats://user:password@host:4222, or a NATS
// token as nats://token@host). NATS URLs may list several servers separated by
// commas. Every rendering hides the password (or a lone user, which may be a
// token): redis://:[redacted]@host:6379/0. Reveal returns the URL itself.
type URL string

// Reveal returns the URL with its credentials, for the client that dials it.
func (u URL) Reveal() string { return string(u) }

// String returns the URL with its credentials replaced by [redacted].
func (u URL) String() string { return redactURLs(string(u)) }

// GoString keeps %#v from printing the credentials.
func (u URL) GoString() string { return fmt.Sprintf("%q", u.String()) }

// Format renders the redacted URL whatever the verb.
func (u URL) Format(f fmt.State, verb rune) { formatRedacted(f, verb, u.String()) }

// MarshalJSON writes the redacted URL.
func (u URL) MarshalJSON() ([]byte, error) { return json.Marshal(u.String()) }

// MarshalYAML writes the redacted URL.
func (u URL) MarshalYAML() (any, error) { return u.String(), nil }

// MarshalText writes the redacted URL.
func (u URL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// LogValue keeps log/slog from printing the credentials.
func (u URL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// formatRedacted writes a safe rendering for any verb: quoted for %q and %#v,
// plain otherwise (%x of a secret must not become a way to print it).
func formatRedacted(f fmt.State, verb rune, safe string) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		fmt.Fprintf(f, "%q", safe)
		return
	}
	fmt.Fprint(f, safe)
}

// redactURLs redacts each server of a comma-separated list.
func redactURLs(s string) string {
	if s == "" {
		return ""
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// redactURL hides the userinfo's password, or a lone user (NATS reads a
// lone user as a token). A string that does not parse is hidden whole: it may
// still hold a password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if u.User == nil {
		return s
	}
	info := redacted
	if _, ok := u.User.Password(); ok {
		info = url.User(u.User.Username()).String() + ":" + redacted
	}
	bare := *u
	bare.User = nil
	rest, prefix := bare.String(), u.Scheme+"://"
	if u.Scheme == "" || !strings.HasPrefix(rest, prefix) {
		return redacted
	}
	return prefix + info + "@" + rest[len(prefix):]
}
