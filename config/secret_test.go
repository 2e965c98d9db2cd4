package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecretRendering(t *testing.T) {
	s := Secret("hunter2")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s"} {
		if got := fmt.Sprintf(verb, s); strings.Contains(got, "hunter2") || strings.Contains(got, fmt.Sprintf("%x", "hunter2")) ||
			!strings.Contains(got, "[redacted]") {
			t.Errorf("Sprintf(%q) = %q", verb, got)
		}
	}
	j, _ := json.Marshal(s)
	y, _ := yaml.Marshal(s)
	txt, _ := s.MarshalText()
	for _, got := range []string{string(j), string(y), string(txt), s.String(), s.GoString(), s.LogValue().String()} {
		if !strings.Contains(got, "[redacted]") || strings.Contains(got, "hunter2") {
			t.Errorf("rendering %q", got)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Errorf("Reveal = %q", s.Reveal())
	}
	var empty Secret
	if got := fmt.Sprintf("%v|%s|%q", empty, empty, empty); got != `||""` {
		t.Errorf("empty secret = %q, want it to stay empty", got)
	}
}

func TestURLRedaction(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://:pw@host:6379/0", "redis://:[redacted]@host:6379/0"},
		{"redis://user:pw@host:6379", "redis://user:[redacted]@host:6379"},
		{"rediss://default:p%40ss@host:6380/2", "rediss://default:[redacted]@host:6380/2"},
		{"unix://:pw@/run/redis.sock?db=1", "unix://:[redacted]@/run/redis.sock?db=1"},
		{"nats://u:pw@host:4222", "nats://u:[redacted]@host:4222"},
		{"nats://t0ken@host:4222", "nats://[redacted]@host:4222"},
		{"nats://a:1@h1:4222, nats://h2:4222", "nats://a:[redacted]@h1:4222,nats://h2:4222"},
		{"nats://u:pw@[::1", "[redacted]"},
	}
	for _, tt := range tests {
		u := URL(tt.in)
		for _, got := range []string{u.String(), fmt.Sprintf("%v", u), fmt.Sprint(u)} {
			if got != tt.want {
				t.Errorf("URL(%q) renders %q, want %q", tt.in, got, tt.want)
			}
		}
		if u.Reveal() != tt.in {
			t.Errorf("Reveal = %q", u.Reveal())
		}
	}
}

// TestNothingLeaks loads a config holding a client secret, a Redis password in
// its URL, a NATS password field and a NATS password in its URL, then renders
// it every way a log line could, and checks that no secret appears.
func TestNothingLeaks(t *testing.T) {
	secrets := []string{"cl1ent-s3cret", "r3dis-pw", "n4ts-pw", "n4ts-url-pw", "f1le-s3cret"}
	file := mustWrite(t, "secret", "f1le-s3cret\n")
	yml := `
nats: {url: "nats://repost:n4ts-url-pw@127.0.0.1:4222", user: repost, password: "${NATS_PW}"}
redis: {url: "redis://:r3dis-pw@127.0.0.1:6379/0"}
subscriptions:
  - {id: 123-ABC-456, endpoint: "https://a.mktorest.com", clientID: cid, clientSecret: "${SECRET}"}
  - {id: 123-ABC-457, endpoint: "https://b.mktorest.com", clientID: cid, clientSecretFile: "` + file + `"}
`
	c := mustLoadYAML(t, yml, env(map[string]string{"SECRET": "cl1ent-s3cret", "NATS_PW": "n4ts-pw"}))
	if c.Subscriptions[0].ClientSecret.Reveal() != "cl1ent-s3cret" || c.Redis.URL.Reveal() != "redis://:r3dis-pw@127.0.0.1:6379/0" {
		t.Fatal("the secrets were not loaded, so the test would prove nothing")
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("start", "config", c, "sub", c.Subscriptions[0])
	slog.New(slog.NewTextHandler(&logs, nil)).Info("start", "config", *c, "nats", c.NATS)
	renderings := map[string]string{
		"Redacted": c.Redacted(),
		"%v":       fmt.Sprintf("%v", *c), "%+v": fmt.Sprintf("%+v", *c), "%#v": fmt.Sprintf("%#v", *c),
		"%v ptr": fmt.Sprintf("%v", c), "%+v sub": fmt.Sprintf("%+v", c.Subscriptions),
		"%#v nats": fmt.Sprintf("%#v", c.NATS), "%+v redis": fmt.Sprintf("%+v", c.Redis),
		"json": string(js), "slog": logs.String(),
	}
	for name, out := range renderings {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %q:\n%s", name, s, out)
			}
		}
	}
	for _, want := range []string{"redis://:[redacted]@127.0.0.1:6379/0", "nats://repost:[redacted]@127.0.0.1:4222", "clientSecret: '[redacted]'"} {
		if !strings.Contains(c.Redacted(), want) {
			t.Errorf("Redacted() lacks %q:\n%s", want, c.Redacted())
		}
	}
}

// TestErrorsDoNotLeak: a bad URL carrying a password is reported without it.
func TestErrorsDoNotLeak(t *testing.T) {
	tests := []struct {
		name, yaml, field string
	}{
		{"redis scheme", "redis: {url: 'http://:r3dis-pw@h:6379'}", "redis.url"},
		{"redis unparsable", "redis: {url: 'redis://:r3dis-pw@[::1'}", "redis.url"},
		{"nats unparsable", "nats: {url: 'nats://u:r3dis-pw@h:42x'}", "nats.url"},
		{"endpoint credentials", "subscriptions:\n  - {id: 123-ABC-456, endpoint: 'https://u:r3dis-pw@h', clientID: c, clientSecret: s}", "subscriptions[0].endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(mustWrite(t, "c.yaml", tt.yaml), nil)
			wantField(t, err, tt.field)
			if strings.Contains(err.Error(), "r3dis-pw") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
