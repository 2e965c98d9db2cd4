package connect

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

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

// go-redis's own messages land in zap, not on stderr: a Sentinel client
// whose sentinel is not listening logs its failed lookup through go-redis's
// logger, which must be the zap adapter.
func TestGoRedisLogsThroughZap(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	LogRedisTo(zap.New(core))
	t.Cleanup(func() { LogRedisTo(zap.NewNop()) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	c, err := Redis(config.Redis{Mode: config.RedisSentinel, URL: config.URL("redis://" + addr + "?master_name=mymaster")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping through a sentinel nobody runs succeeded")
	}
	lines := logs.FilterMessageSnippet("sentinel: GetMasterAddrByName").All()
	if len(lines) == 0 {
		t.Fatalf("no go-redis line in zap; got %d lines: %v", logs.Len(), logs.All())
	}
	e := lines[0]
	if e.LoggerName != "redis" || e.Level != zap.WarnLevel || e.ContextMap()["source"] != "go-redis" ||
		!strings.Contains(e.Message, `"mymaster"`) {
		t.Errorf("go-redis line %+v, want a warning of logger redis naming the master", e)
	}
}
