package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/leadops/repost/policy"
)

// sub is a valid subscription entry; rows append keys or replace it.
const sub = `
  - id: 123-ABC-456
    endpoint: https://123-ABC-456.mktorest.com
    clientID: cid
    clientSecret: shh
`

func TestLoadRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		field  string
		reason string // a substring of the reason
	}{
		{"id not a Munchkin ID", "subscriptions:\n  - {id: 123-abc-456, endpoint: https://x.mktorest.com, clientID: c, clientSecret: s}",
			"subscriptions[0].id", "Munchkin"},
		{"id with a dot (a NATS token separator)", "subscriptions:\n  - {id: 123.ABC.456, endpoint: https://x.mktorest.com, clientID: c, clientSecret: s}",
			"subscriptions[0].id", "Munchkin"},
		{"id with a wildcard", "subscriptions:\n  - {id: '123-ABC-*', endpoint: https://x.mktorest.com, clientID: c, clientSecret: s}",
			"subscriptions[0].id", "Munchkin"},
		{"duplicate subscription", "subscriptions:" + sub + sub, "subscriptions[1].id", "already subscriptions[0]"},
		{"http endpoint without allowInsecure", "subscriptions:\n  - {id: 123-ABC-456, endpoint: http://127.0.0.1:9, clientID: c, clientSecret: s}",
			"subscriptions[0].endpoint", "https"},
		{"endpoint not a URL", "subscriptions:\n  - {id: 123-ABC-456, endpoint: 'https://[::1', clientID: c, clientSecret: s}",
			"subscriptions[0].endpoint", "not a valid URL"},
		{"endpoint with a query", "subscriptions:\n  - {id: 123-ABC-456, endpoint: 'https://x.mktorest.com?a=1', clientID: c, clientSecret: s}",
			"subscriptions[0].endpoint", "query"},
		{"endpoint with /rest", "subscriptions:\n  - {id: 123-ABC-456, endpoint: 'https://x.mktorest.com/rest', clientID: c, clientSecret: s}",
			"subscriptions[0].endpoint", "/rest"},
		{"endpoint with credentials", "subscriptions:\n  - {id: 123-ABC-456, endpoint: 'https://u:p@x.mktorest.com', clientID: c, clientSecret: s}",
			"subscriptions[0].endpoint", "credentials"},
		{"missing clientID", "subscriptions:\n  - {id: 123-ABC-456, endpoint: https://x.mktorest.com, clientSecret: s}",
			"subscriptions[0].clientID", "required"},
		{"missing secret", "subscriptions:\n  - {id: 123-ABC-456, endpoint: https://x.mktorest.com, clientID: c}",
			"subscriptions[0].clientSecret", "required"},
		{"zero window", "subscriptions:" + sub + "    limits: {window: 0s}", "subscriptions[0].limits.window", "> 0"},
		{"negative daily quota on the second subscription", "subscriptions:" + sub + strings.ReplaceAll(sub, "456", "457") + "    limits: {dailyQuota: -1}",
			"subscriptions[1].limits.dailyQuota", "> 0"},
		{"concurrency above calls per window", "subscriptions:" + sub + "    limits: {callsPerWindow: 5, maxConcurrency: 6}",
			"subscriptions[0].limits.maxConcurrency", "callsPerWindow"},
		{"override with an unknown action", "policy: {overrides: {\"1004\": ignore}}", "policy.overrides.1004", "unknown action"},
		{"override with an unknown code", "policy: {overrides: {bogus: skip}}", "policy.overrides.bogus", "unknown code"},
		{"override of success", "policy: {overrides: {\"0\": park}}", "policy.overrides.0", "cannot be overridden"},
		{"same code twice", "policy: {overrides: {\"1006\": skip, \"01006\": park}}", "policy.overrides.1006", "same code"},
		{"maxAttempts 0", "policy: {maxAttempts: 0}", "policy.maxAttempts", "1.."},
		{"nats scheme", "nats: {url: 'http://127.0.0.1:4222'}", "nats.url", "scheme"},
		{"nats second server bad", "nats: {url: 'nats://a:4222,redis://b:6379'}", "nats.url", "scheme"},
		{"nats password without user", "nats: {url: 'nats://a:4222', password: p}", "nats.user", "required"},
		{"nats credentials without url", "nats: {user: u, password: p}", "nats.url", "required"},
		{"subject prefix with wildcard", "nats: {subjectPrefix: 'dap.*'}", "nats.subjectPrefix", "tokens"},
		{"subject prefix with empty token", "nats: {subjectPrefix: 'dap..postout'}", "nats.subjectPrefix", "tokens"},
		{"replicas 0", "nats: {replicas: 0}", "nats.replicas", "1..5"},
		{"storage", "nats: {storage: disk}", "nats.storage", "file or memory"},
		{"redis scheme", "redis: {url: 'nats://127.0.0.1:6379'}", "redis.url", "scheme"},
		{"redis db not a number", "redis: {url: 'redis://127.0.0.1:6379/x'}", "redis.url", "database"},
		{"redis password twice", "redis: {url: 'redis://:a@127.0.0.1:6379', password: b}", "redis.password", "one place"},
		{"nats ackWait too short", "nats: {ackWait: 1s}", "nats.ackWait", "at least 5s"},
		{"redis mode unknown", "redis: {url: 'redis://127.0.0.1:6379', mode: replicated}", "redis.mode", "standalone, sentinel or cluster"},
		{"redis sentinel without master", "redis: {url: 'redis://s1:26379?addr=s2:26379', mode: sentinel}", "redis.url", "master_name"},
		{"redis cluster with db", "redis: {url: 'redis://n1:6379/2?addr=n2:6379', mode: cluster}", "redis.url", "no database"},
		{"redis tls without rediss", "redis: {url: 'redis://127.0.0.1:6379', tls: {caFile: ca.pem}}", "redis.tls", "rediss"},
		{"tls cert without key", "nats: {url: 'tls://a:4222', tls: {certFile: c.pem}}", "nats.tls", "together"},
		{"http addr without port", "http: {addr: localhost}", "http.addr", "host:port"},
		{"http port not a number", "http: {addr: 'localhost:http'}", "http.addr", "port"},
		{"empty dataDir", "dataDir: ''", "dataDir", "empty"},
		{"batch size over Marketo's cap", "worker: {batchSize: 301}", "worker.batchSize", "1..300"},
		{"zero shutdown timeout", "worker: {shutdownTimeout: 0s}", "worker.shutdownTimeout", "> 0"},
		{"negative linger", "worker: {linger: -1s}", "worker.linger", ">= 0"},
		{"zero lease", "worker: {leaseTTL: 0s}", "worker.leaseTTL", "> 0"},
		{"zero expiry margin", "worker: {expireMargin: 0s}", "worker.expireMargin", "> 0"},
		{"log level", "log: {level: verbose}", "log.level", "verbose"},
		{"unknown key", "nats:\n  url: 'nats://a:4222'\n  usr: me", "nats.usr", "unknown key"},
		{"unknown key in a subscription's limits", "subscriptions:" + sub + "    limits: {perDay: 5}", "subscriptions[0].limits.perDay", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(mustWrite(t, "bad.yaml", tt.yaml), env(nil))
			ve := wantField(t, err, tt.field)
			if !strings.Contains(ve.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", ve.Reason, tt.reason)
			}
			if !strings.Contains(err.Error(), tt.field+": ") {
				t.Errorf("message %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestValidateCollectsEveryProblem(t *testing.T) {
	c := Default()
	c.HTTP.Addr = "nope"
	c.Log.Level = ""
	c.Subscriptions = []Subscription{{ID: "x", Limits: Limits{}}}
	got := fieldsOf(c.Validate())
	want := []string{
		"http.addr", "log.level", "subscriptions[0].clientID", "subscriptions[0].clientSecret",
		"subscriptions[0].endpoint", "subscriptions[0].id", "subscriptions[0].limits.callsPerWindow",
		"subscriptions[0].limits.dailyQuota", "subscriptions[0].limits.maxConcurrency", "subscriptions[0].limits.window",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("fields\n got %q\nwant %q", got, want)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  ValidationError
		want string
	}{
		{"no line", ValidationError{Field: "subscriptions[1].limits.window", Reason: "must be > 0"}, "subscriptions[1].limits.window: must be > 0"},
		{"line", ValidationError{Field: "nats.usr", Reason: "unknown key", Line: 3}, "nats.usr: unknown key (line 3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPolicyOverrides(t *testing.T) {
	c := Default()
	c.Policy.Overrides = map[string]string{"1004": "skip", "01006": "Retry", "timeout": "park"}
	got, err := c.PolicyOverrides()
	if err != nil {
		t.Fatal(err)
	}
	want := map[policy.Code]policy.Action{"1004": policy.ActionSkip, "1006": policy.ActionRetry, policy.CodeTimeout: policy.ActionPark}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	pc, err := c.PolicyConfig()
	if err != nil || pc.MaxAttempts != DefaultMaxAttempts || len(pc.Overrides) != 3 {
		t.Fatalf("PolicyConfig = %+v, %v", pc, err)
	}
	if _, err := policy.New(pc); err != nil {
		t.Errorf("policy.New refuses what config accepted: %v", err)
	}

	c.Policy.Overrides["606"] = "wait"
	_, err = c.PolicyOverrides()
	wantField(t, err, "policy.overrides.606")
	if !errors.Is(err, policy.ErrUnknownAction) {
		t.Errorf("error %v does not wrap policy.ErrUnknownAction", err)
	}
}

func TestMunchkinID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"123-ABC-456", true}, {"000-ZZZ-999", true},
		{"123-abc-456", false}, {"12-ABC-456", false}, {"123-ABCD-456", false},
		{"123-ABC-456 ", false}, {"123.ABC.456", false}, {"123-AB>-456", false},
		{"１２３-ABC-456", false}, {"", false}, {"123-ABC-456\n", false},
	}
	for _, tt := range tests {
		if got := MunchkinID.MatchString(tt.id); got != tt.want {
			t.Errorf("MunchkinID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
