package connect

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/config"
)

func TestRedisURLErrorsHoldNoPassword(t *testing.T) {
	for _, mode := range []string{"", config.RedisSentinel, config.RedisCluster} {
		_, err := Redis(config.Redis{Mode: mode, URL: "redis://:hunter2-secret@127.0.0.1:6379?bogus_option=1"})
		if err == nil {
			t.Fatalf("mode %q: a bad URL was accepted", mode)
		}
		if strings.Contains(err.Error(), "hunter2-secret") || !strings.Contains(err.Error(), "redis.url") {
			t.Errorf("mode %q: error %q (want redis.url named, no password)", mode, err)
		}
	}
	if c, err := Redis(config.Redis{}); c != nil || err != nil {
		t.Errorf("no URL: %v, %v; want no client (in-process limits)", c, err)
	}
	c, err := Redis(config.Redis{URL: "redis://127.0.0.1:1/0", Password: "from-config"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.(*redis.Client).Options().Password; got != "from-config" {
		t.Errorf("password %q, want the one from redis.password", got)
	}
	if _, err := Redis(config.Redis{URL: "rediss://127.0.0.1:1", TLS: config.TLS{CAFile: "/nonexistent/ca.pem"}}); err == nil ||
		!strings.Contains(err.Error(), "redis.tls.caFile") {
		t.Errorf("missing CA file: %v", err)
	}
}

func TestQueueOptions(t *testing.T) {
	cfg := config.Default()
	cfg.NATS.User, cfg.NATS.Password, cfg.NATS.Storage, cfg.NATS.AckWait = "u", "pw", "memory", 7*time.Second
	cfg.NATS.SubjectPrefix, cfg.NATS.Replicas = "x.y", 3
	o := QueueOptions(&cfg, "nats://h:4222", "repostd")
	if o.URL != "nats://h:4222" || o.User != "u" || o.Password != "pw" || o.Name != "repostd" || o.Prefix != "x.y" ||
		o.Replicas != 3 || o.AckWait != 7*time.Second || o.Storage.String() != "Memory" {
		t.Errorf("options %+v", o)
	}
}

func TestRedact(t *testing.T) {
	if got := Redact("dial redis://:s3cr3t@h:1 failed: s3cr3t", "redis://:s3cr3t@h:1"); strings.Contains(got, "s3cr3t") {
		t.Errorf("Redact left the password: %q", got)
	}
	if got := Redact("plain", "redis://h:1"); got != "plain" {
		t.Errorf("Redact changed a message without a password: %q", got)
	}
}
