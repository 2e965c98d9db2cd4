package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExampleLoadsClean(t *testing.T) {
	c, err := Load("testdata/example.yaml", env(map[string]string{"MARKETO_123_ABC_456_SECRET": "from-env"}))
	if err != nil {
		t.Fatalf("Load(example): %v", err)
	}
	s, ok := c.Subscription("123-ABC-456")
	if !ok {
		t.Fatal("subscription 123-ABC-456 missing")
	}
	if s.ClientSecret.Reveal() != "from-env" || s.Limits != DefaultLimits() {
		t.Errorf("subscription = %+v", *s)
	}
	if c.NATS.URL.Reveal() != "nats://127.0.0.1:4222" || c.Policy.Overrides["1004"] != "skip" {
		t.Errorf("config = %+v", *c)
	}
	if _, ok := c.Subscription("999-ZZZ-999"); ok {
		t.Error("found a subscription that is not configured")
	}
}

func TestLoadDefaults(t *testing.T) {
	want := Default()
	empty, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load(\"\"): %v", err)
	}
	if !reflect.DeepEqual(*empty, want) {
		t.Errorf("Load(\"\") = %+v, want %+v", *empty, want)
	}
	blank := mustLoadYAML(t, "# nothing\n", nil)
	if !reflect.DeepEqual(*blank, want) {
		t.Errorf("empty file = %+v, want %+v", *blank, want)
	}
	nulls := mustLoadYAML(t, "nats:\nworker:\n", nil)
	if !reflect.DeepEqual(*nulls, want) {
		t.Errorf("null sections = %+v, want %+v", *nulls, want)
	}
	if want.HTTP.Addr != "127.0.0.1:8080" || want.NATS.SubjectPrefix != "dap.postout" || want.Worker.BatchSize != 300 ||
		want.Worker.ShutdownTimeout != 25*time.Second || want.Policy.MaxAttempts != 10 || want.DataDir != "./data" {
		t.Errorf("Default() = %+v", want)
	}
}

func TestLoadFillsEachLimitOnItsOwn(t *testing.T) {
	c := mustLoadYAML(t, "worker: {batchSize: 50, linger: 0s}\nsubscriptions:"+sub+"    limits: {window: 10s, callsPerWindow: 40}\n", nil)
	got := c.Subscriptions[0].Limits
	want := Limits{DailyQuota: 10000, CallsPerWindow: 40, Window: 10 * time.Second, MaxConcurrency: 5}
	if got != want {
		t.Errorf("limits = %+v, want %+v", got, want)
	}
	if c.Worker.BatchSize != 50 || c.Worker.Linger != 0 || c.Worker.LeaseTTL != DefaultLeaseTTL {
		t.Errorf("worker = %+v: a set value must stay, an absent one take its default", c.Worker)
	}
}

func TestLoadEnvOverrides(t *testing.T) {
	yml := "nats: {url: 'nats://file:4222'}\nredis: {url: 'redis://file:6379'}\nhttp: {addr: 'file:1'}\ndataDir: /file\n"
	tests := []struct {
		name string
		env  map[string]string
		want func(c *Config) bool
	}{
		{"none", nil, func(c *Config) bool {
			return c.NATS.URL == "nats://file:4222" && c.Redis.URL == "redis://file:6379" && c.HTTP.Addr == "file:1" && c.DataDir == "/file"
		}},
		{"all", map[string]string{EnvNATSURL: "nats://env:4222", EnvRedisURL: "rediss://env:6380/1", EnvHTTPAddr: ":9090", EnvDataDir: "/env"},
			func(c *Config) bool {
				return c.NATS.URL == "nats://env:4222" && c.Redis.URL == "rediss://env:6380/1" && c.HTTP.Addr == ":9090" && c.DataDir == "/env"
			}},
		{"empty is unset", map[string]string{EnvNATSURL: "", EnvDataDir: ""}, func(c *Config) bool {
			return c.NATS.URL == "nats://file:4222" && c.DataDir == "/file"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := mustLoadYAML(t, yml, env(tt.env)); !tt.want(c) {
				t.Errorf("got %+v", *c)
			}
		})
	}
	c, err := Load("", env(map[string]string{EnvHTTPAddr: "127.0.0.1:0"}))
	if err != nil || c.HTTP.Addr != "127.0.0.1:0" {
		t.Errorf("no file: %v, %+v", err, c)
	}
	_, err = Load("", env(map[string]string{EnvRedisURL: "http://x"}))
	wantField(t, err, "redis.url") // an override is validated like the file
}

func TestLoadExpandsVariables(t *testing.T) {
	vars := env(map[string]string{
		"SECRET": `s#3: "x' $$ ${NOT}`, // YAML syntax and $ inside a value stay inert
		"QUOTA":  "1234", "WIN": "7s", "HOST": "127.0.0.1", "INSECURE": "true",
	})
	yml := `
nats: {url: "nats://${HOST}:4222"}
subscriptions:
  - id: 123-ABC-456
    endpoint: https://${HOST}
    clientID: "id-$$-${HOST}-$x"
    clientSecret: ${SECRET}
    limits: {dailyQuota: "${QUOTA}", window: "${WIN}"}
    allowInsecure: ${INSECURE}
`
	c := mustLoadYAML(t, yml, vars)
	s := c.Subscriptions[0]
	checks := []struct{ got, want string }{
		{c.NATS.URL.Reveal(), "nats://127.0.0.1:4222"},
		{s.Endpoint, "https://127.0.0.1"},
		{s.ClientID, "id-$-127.0.0.1-$x"},
		{s.ClientSecret.Reveal(), `s#3: "x' $$ ${NOT}`},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("got %q, want %q", ch.got, ch.want)
		}
	}
	if s.Limits.DailyQuota != 1234 || s.Limits.Window != 7*time.Second || !s.AllowInsecure {
		t.Errorf("limits = %+v", s.Limits)
	}
}

func TestLoadVariableErrors(t *testing.T) {
	tests := []struct {
		name, yaml, field, reason string
	}{
		{"missing", "subscriptions:\n  - {id: 123-ABC-456, endpoint: https://x, clientID: c, clientSecret: '${MARKETO_SECRET}'}",
			"subscriptions[0].clientSecret", "MARKETO_SECRET is not set"},
		{"empty counts as missing", "nats: {password: '${EMPTY}'}", "nats.password", "EMPTY is not set"},
		{"unterminated", "dataDir: '${DIR'", "dataDir", "unterminated"},
		{"bad name", "dataDir: '${1DIR}'", "dataDir", "not a valid variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(mustWrite(t, "c.yaml", tt.yaml), env(map[string]string{"EMPTY": ""}))
			ve := wantField(t, err, tt.field)
			if !strings.Contains(ve.Reason, tt.reason) || ve.Line == 0 {
				t.Errorf("got %+v, want reason %q and a line", ve, tt.reason)
			}
		})
	}
}

func TestLoadClientSecretFile(t *testing.T) {
	secretPath := mustWrite(t, "secret", "file-s3cret\n")
	c := mustLoadYAML(t, "subscriptions:\n  - {id: 123-ABC-456, endpoint: https://x, clientID: c, clientSecretFile: '"+secretPath+"'}", nil)
	if got := c.Subscriptions[0].ClientSecret.Reveal(); got != "file-s3cret" {
		t.Errorf("secret = %q, want file-s3cret (trailing newline dropped)", got)
	}

	missing := filepath.Join(t.TempDir(), "nope")
	empty := mustWrite(t, "empty", "\n")
	tests := []struct {
		name, yaml, reason string
	}{
		{"missing file", "clientSecretFile: '" + missing + "'", "cannot read " + missing},
		{"empty file", "clientSecretFile: '" + empty + "'", "is empty"},
		{"both", "clientSecretFile: '" + secretPath + "', clientSecret: other", "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yml := "subscriptions:\n  - {id: 123-ABC-456, endpoint: https://x, clientID: c, " + tt.yaml + "}"
			_, err := Load(mustWrite(t, "c.yaml", yml), nil)
			ve := wantField(t, err, "subscriptions[0].clientSecretFile")
			if !strings.Contains(ve.Reason, tt.reason) || strings.Contains(err.Error(), "file-s3cret") {
				t.Errorf("got %q, want reason %q and no secret", err, tt.reason)
			}
			if tt.name == "missing file" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v does not wrap fs.ErrNotExist", err)
			}
		})
	}
}

func TestLoadUnknownKeyNamesLine(t *testing.T) {
	_, err := Load(mustWrite(t, "c.yaml", "dataDir: /d\nworker:\n  batchSize: 10\n  lingr: 1s\n"), nil)
	ve := wantField(t, err, "worker.lingr")
	if ve.Line != 4 || !strings.Contains(err.Error(), "worker.lingr: unknown key (line 4)") {
		t.Errorf("got %q (line %d), want line 4", err, ve.Line)
	}
}

func TestLoadAnchorsAndMerges(t *testing.T) {
	yml := `
subscriptions:
  - &base
    id: 123-ABC-456
    endpoint: https://a.mktorest.com/
    clientID: c
    clientSecret: ${S}
    limits: &lim {dailyQuota: 9, callsPerWindow: 3, maxConcurrency: 2}
  - <<: *base
    id: 123-ABC-457
    limits: *lim
`
	c := mustLoadYAML(t, yml, env(map[string]string{"S": "s$$1"}))
	a, b := c.Subscriptions[0], c.Subscriptions[1]
	if a.ClientSecret != "s$$1" || b.ClientSecret != "s$$1" || b.Limits.DailyQuota != 9 || b.Limits.Window != DefaultWindow {
		t.Errorf("merged: %+v / %+v (a value shared by an alias must be expanded once)", a, b)
	}
	if a.Endpoint != "https://a.mktorest.com" {
		t.Errorf("endpoint %q: trailing slash not dropped", a.Endpoint)
	}
	_, err := Load(mustWrite(t, "c.yaml", "x: &a {y: 1}\n"), nil)
	wantField(t, err, "x")
}

func TestLoadRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"two documents", "dataDir: a\n---\ndataDir: b\n", "more than one YAML document"},
		{"wrong type", "worker: {batchSize: many}\n", "line 1"},
		{"duration as a number", "worker: {linger: 200}\n", "time.Duration"},
		{"duplicate key", "dataDir: a\ndataDir: b\n", "already"},
		{"syntax", "nats: {url: [\n", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(mustWrite(t, "c.yaml", tt.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
}

func TestLoadPlacesErrorsOnTheirLine(t *testing.T) {
	yml := "http: {addr: 'localhost:1'}\nsubscriptions:" + sub + "    limits:\n      window: 0s\n"
	tests := []struct {
		name     string
		env      map[string]string
		field    string
		wantLine int
	}{
		{"from the file", nil, "subscriptions[0].limits.window", 8},
		{"from the environment: no file line", map[string]string{EnvHTTPAddr: "bad"}, "http.addr", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(mustWrite(t, "c.yaml", yml), env(tt.env))
			var found bool
			for _, ve := range validationErrors(err) {
				if ve.Field == tt.field {
					found = true
					if ve.Line != tt.wantLine {
						t.Errorf("%s: line %d, want %d", ve.Field, ve.Line, tt.wantLine)
					}
				}
			}
			if !found {
				t.Errorf("no error for %s in %v", tt.field, err)
			}
		})
	}
}

// Read-only tools load a configuration that names no Marketo secret at
// all; only Load, for whatever calls Marketo, requires one and names the
// field.
func TestLoadWithoutSecretsNeedsNone(t *testing.T) {
	path := mustWrite(t, "repost.yaml", "subscriptions:\n"+
		"  - {id: 123-ABC-456, endpoint: https://x.mktorest.com, clientID: c}\n"+
		"  - {id: 123-ABC-457, endpoint: https://y.mktorest.com, clientID: d, clientSecret: s}\n")
	c, err := LoadWithoutSecrets(path, nil)
	if err != nil {
		t.Fatalf("LoadWithoutSecrets of a configuration with no secret: %v", err)
	}
	if got := c.Subscriptions[0].ClientSecret; got != "" {
		t.Errorf("an absent secret reads as %q, want empty (absent, not merely unread)", got)
	}
	if got := c.Subscriptions[1].ClientSecret; got != SecretNotRead {
		t.Errorf("a configured secret reads as %q, want SecretNotRead", got)
	}

	_, err = Load(path, nil)
	ve := wantField(t, err, "subscriptions[0].clientSecret")
	if ve.Reason != "required (or clientSecretFile)" || ve.Line != 0 {
		t.Errorf("Load: %q, want subscriptions[0].clientSecret: required (or clientSecretFile)", err)
	}

	// Every other field is still checked without secrets (and only it).
	bad := mustWrite(t, "bad.yaml", "subscriptions:\n  - {id: 123-ABC-456, endpoint: https://x.mktorest.com}\n")
	_, err = LoadWithoutSecrets(bad, nil)
	wantField(t, err, "subscriptions[0].clientID")
}
