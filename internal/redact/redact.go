// Package redact keeps passwords out of messages and errors: the one place
// repost removes a secret from text it did not write (a client library's
// error that quotes a URL, say). Standard library only.
//
// It removes known values; it does not render URLs for display (config.URL
// does that) nor scrub Marketo bodies (marketo's redactor does that).
package redact

import (
	"cmp"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Mark stands in for every removed secret.
const Mark = "[redacted]"

// String returns s with each non-empty secret replaced by Mark. Longer
// secrets go first, so that one holding another is not left half shown.
func String(s string, secrets ...string) string {
	secrets = slices.DeleteFunc(slices.Clone(secrets), func(x string) bool { return x == "" })
	slices.SortStableFunc(secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, x := range secrets {
		s = strings.ReplaceAll(s, x, Mark)
	}
	return s
}

// Error returns err with the secrets removed from its message. A nil error,
// or no non-empty secret, gives err itself. Otherwise the result is a new
// error carrying only the redacted message, without the chain: a cause's
// own message would still hold the secret for anyone who unwraps it.
func Error(err error, secrets ...string) error {
	if err == nil || !slices.ContainsFunc(secrets, func(x string) bool { return x != "" }) {
		return err
	}
	return errors.New(String(err.Error(), secrets...))
}

// InURL returns the passwords in the userinfo of a URL, or of each server
// of a comma-separated list (redis://:pw@host, nats://user:pw@host): as
// typed, since a parse error quotes the URL raw, and decoded.
func InURL(raw string) []string {
	return collect(raw, func(c userinfo) []string {
		if c.hasPassword {
			return []string{c.password, c.rawPassword}
		}
		return nil
	})
}

// TokensInURL returns the lone users of a NATS URL or list
// (nats://token@host), which NATS reads as tokens. Only for NATS: a lone
// user of a Redis URL is a user name, and hiding it would garble messages.
func TokensInURL(raw string) []string {
	return collect(raw, func(c userinfo) []string {
		if c.hasUser && !c.hasPassword {
			return []string{c.user, c.rawUser}
		}
		return nil
	})
}

// collect gathers what pick takes from the whole string and from each
// comma-separated server (a password may hold a comma), non-empty and once.
func collect(raw string, pick func(userinfo) []string) []string {
	var out []string
	for _, s := range append([]string{raw}, strings.Split(raw, ",")...) {
		out = append(out, pick(parse(strings.TrimSpace(s)))...)
	}
	out = slices.DeleteFunc(out, func(x string) bool { return x == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// userinfo is a URL's user and password, decoded and as typed.
type userinfo struct {
	user, password, rawUser, rawPassword string
	hasUser, hasPassword                 bool
}

// parse reads the userinfo of s. A URL that parses has it before the
// authority's last '@'. One that does not (the likeliest to be quoted in an
// error) is scanned: the userinfo ends at the first '@', the password starts
// after its first ':' (a user name holds none); the typed form stands for
// the decoded one.
func parse(s string) userinfo {
	var c userinfo
	if !strings.Contains(s, "://") {
		s = "nats://" + s // as nats.go reads a bare host:port
	}
	if u, err := url.Parse(s); err == nil {
		if u.User == nil {
			return c
		}
		c.user, c.hasUser = u.User.Username(), true
		c.password, c.hasPassword = u.User.Password()
		if auth := authority(s); strings.Contains(auth, "@") {
			c.rawUser, c.rawPassword, _ = strings.Cut(auth[:strings.LastIndex(auth, "@")], ":")
		}
		return c
	}
	k, i := strings.Index(s, "://")+3, strings.Index(s, "@")
	if i <= k {
		return c
	}
	head := s[k:i]
	c.hasUser = true
	c.rawUser, c.rawPassword, c.hasPassword = strings.Cut(head, ":")
	c.user, c.password = c.rawUser, c.rawPassword
	return c
}

// authority is what follows "://" up to the path, query or fragment.
func authority(s string) string {
	a := s[strings.Index(s, "://")+3:]
	if j := strings.IndexAny(a, "/?#"); j >= 0 {
		a = a[:j]
	}
	return a
}
