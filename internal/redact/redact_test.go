package redact

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Each form a message can quote a password in, from each of the three
// redactors this package replaces: connect.Redact (the password of a Redis
// URL), queue's redactURLError (an error and the NATS password option) and
// repostctl's redactPassword (redis.password in a message).
func TestString(t *testing.T) {
	parseErr := func(raw string) string {
		_, err := url.Parse(raw)
		if err == nil {
			t.Fatalf("url.Parse(%q) accepted it", raw)
		}
		return err.Error()
	}
	for _, tc := range []struct {
		name, msg, url string
		nats           bool // a lone user is a token
		secrets        []string
		want           string
	}{
		{name: "redis URL password, quoted and bare (connect.Redact)", url: "redis://:s3cr3t@h:1",
			msg: "dial redis://:s3cr3t@h:1 failed: s3cr3t", want: "dial redis://:[redacted]@h:1 failed: [redacted]"},
		{name: "user and password", url: "rediss://default:s3cr3t@h:1/0",
			msg: "auth default s3cr3t", want: "auth default [redacted]"},
		{name: "URL without a password (connect.Redact)", url: "redis://h:1", msg: "plain", want: "plain"},
		{name: "no URL", msg: "plain", want: "plain"},
		{name: "parse error of a bad port", url: "redis://:pw-SECRET@h:bad",
			msg: parseErr("redis://:pw-SECRET@h:bad"), want: `parse "redis://:[redacted]@h:bad": invalid port ":bad" after host`},
		{name: "parse error of a bad escape", url: "nats://u:p%zz@h:1",
			msg: parseErr("nats://u:p%zz@h:1"), want: `parse "nats://u:[redacted]@h:1": invalid URL escape "%zz"`},
		{name: "escaped password, raw and decoded", url: "redis://:p%40ss@h:1",
			msg: "redis://:p%40ss@h:1 said p@ss", want: "redis://:[redacted]@h:1 said [redacted]"},
		{name: "'@' in the password", url: "redis://:p@ss@h:1",
			msg: `parse "redis://:p@ss@h:1": pass`, want: `parse "redis://:[redacted]@h:1": pass`},
		{name: "':' in the password", url: "nats://u:pa:ss@h:1",
			msg: "nats://u:pa:ss@h:1", want: "nats://u:[redacted]@h:1"},
		{name: "':' in the password of a URL that does not parse", url: "redis://u:pa:ss@h:bad",
			msg: `parse "redis://u:pa:ss@h:bad"`, want: `parse "redis://u:[redacted]@h:bad"`},
		{name: "' ' in the password", url: "redis://:pa ss@h:1",
			msg: `parse "redis://:pa ss@h:1": invalid userinfo`, want: `parse "redis://:[redacted]@h:1": invalid userinfo`},
		{name: "NATS token", url: "nats://tok-SECRET@h:bad", nats: true,
			msg: parseErr("nats://tok-SECRET@h:bad"), want: `parse "nats://[redacted]@h:bad": invalid port ":bad" after host`},
		{name: "a Redis user is no token", url: "redis://app@h:1", msg: "app: WRONGPASS", want: "app: WRONGPASS"},
		{name: "'/' in the password", url: "redis://:pa/ss@h:1",
			msg: "redis://:pa/ss@h:1", want: "redis://:[redacted]@h:1"},
		{name: "each server of a NATS list", url: "nats://a:p1-SECRET@h1:4222, nats://b:p2-SECRET@h2:4222",
			msg: "p1-SECRET then p2-SECRET", want: "[redacted] then [redacted]"},
		{name: "password option in an error (queue redactURLError)", url: "nats://h:4222", secrets: []string{"opt-SECRET"},
			msg: "nats: authorization for opt-SECRET", want: "nats: authorization for [redacted]"},
		{name: "redis.password beside the URL's (repostctl redactPassword)", url: "redis://:url-SECRET@h:1",
			secrets: []string{"cfg-SECRET"}, msg: "url-SECRET cfg-SECRET", want: "[redacted] [redacted]"},
		{name: "empty password option (repostctl redactPassword)", secrets: []string{""}, msg: "plain", want: "plain"},
		{name: "a secret holding another goes first", secrets: []string{"ab", "abcd"}, msg: "abcd ab", want: "[redacted] [redacted]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secrets := append(InURL(tc.url), tc.secrets...)
			if tc.nats {
				secrets = append(secrets, TokensInURL(tc.url)...)
			}
			if got := String(tc.msg, secrets...); got != tc.want {
				t.Errorf("String(%q, %q) = %q, want %q", tc.msg, secrets, got, tc.want)
			}
		})
	}
}

func TestInURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"", nil},
		{"redis://h:6379/0", nil},
		{"redis://:pw@h:6379/0", []string{"pw"}},
		{"redis://:p%40ss@h", []string{"p%40ss", "p@ss"}},
		{"nats://a:x@h1,nats://b:y@h2", []string{"x", "y"}},
		{"redis://:pw@h:bad", []string{"pw"}}, // does not parse: the plain scan
	} {
		if got := InURL(tc.url); !slices.Equal(got, tc.want) {
			t.Errorf("InURL(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// An error keeps its identity when there is nothing to hide (queue's
// redactURLError with no password) and loses its chain when there is: the
// cause's message still quotes the secret.
func TestError(t *testing.T) {
	if Error(nil, "pw") != nil {
		t.Error("Error(nil) is not nil")
	}
	cause := errors.New("dial nats://u:s3cr3t@h:1: refused")
	for _, none := range [][]string{nil, {""}} {
		if got := Error(cause, none...); got != cause {
			t.Errorf("Error(cause, %q) = %v, want the cause itself", none, got)
		}
	}
	wrapped := fmt.Errorf("queue: connect: %w", cause)
	got := Error(wrapped, InURL("nats://u:s3cr3t@h:1")...)
	if got.Error() != "queue: connect: dial nats://u:[redacted]@h:1: refused" {
		t.Errorf("message %q", got)
	}
	for e := error(got); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "s3cr3t") || errors.Is(e, cause) {
			t.Errorf("the chain still reaches the secret: %v", e)
		}
	}
}

func TestTokensInURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"", nil},
		{"nats://h:4222", nil},
		{"nats://u:pw@h:4222", nil}, // a user with a password is no token
		{"nats://tok-SECRET@h:4222", []string{"tok-SECRET"}},
		{"nats://tok%2BSECRET@h:4222", []string{"tok%2BSECRET", "tok+SECRET"}},
		{"nats://tok-SECRET@h:bad", []string{"tok-SECRET"}}, // does not parse: the plain scan
		{"nats://a@h1,nats://u:pw@h2, tok-2@h3", []string{"a", "tok-2"}},
	} {
		if got := TokensInURL(tc.url); !slices.Equal(got, tc.want) {
			t.Errorf("TokensInURL(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// No URL panics the reader (it runs on malformed configuration), and a
// long password of a well-formed one is gone from a message quoting it.
func FuzzInURL(f *testing.F) {
	for _, s := range []string{"redis://:pw@h:1", "nats://a:b@h,c@d", "@", "a@b://c", "://@", "%zz@h", "p@ss@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		found := append(InURL(s), TokensInURL(s)...)
		if slices.Contains(found, "") {
			t.Errorf("%q: an empty secret in %q", s, found)
		}
		msg := String(`dial "redis://:`+s+`@h:1": refused`, InURL("redis://:"+s+"@h:1")...)
		if len(s) >= len(Mark) && !strings.ContainsAny(s, "@/?#%,") && strings.Contains(msg, s) {
			t.Errorf("password %q left in %q", s, msg)
		}
	})
}
