package quota_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/internal/testenv"
)

// redisServer is a throwaway redis-server (internal/testenv) and whether
// it is a one-node Cluster.
type redisServer struct {
	*testenv.Redis
	addr    string
	cluster bool
}

// mustRedisServer starts a redis-server for tb, stopped at cleanup. It skips
// when redis-server is missing, unless REPOST_REQUIRE_REDIS=1 (CI).
func mustRedisServer(tb testing.TB, cluster bool) *redisServer {
	tb.Helper()
	var r *testenv.Redis
	if cluster {
		r = testenv.StartRedisCluster(tb)
	} else {
		r = testenv.StartRedis(tb)
	}
	return &redisServer{Redis: r, addr: r.Addr, cluster: cluster}
}

func (s *redisServer) stop() { s.Stop() }

// mustRestart starts the server again on the same port.
func (s *redisServer) mustRestart(tb testing.TB) {
	tb.Helper()
	if err := s.Start(); err != nil {
		tb.Fatalf("restart redis-server: %v", err)
	}
}

// mustClient returns a new client (a "replica") closed at cleanup.
func (s *redisServer) mustClient(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	var c redis.UniversalClient
	if s.cluster {
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{s.addr}})
	} else {
		c = redis.NewClient(&redis.Options{
			Addr: s.addr, DialTimeout: 300 * time.Millisecond,
			ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: 1, DialerRetries: 1,
		})
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *redisServer) mustFlush(tb testing.TB) {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		tb.Fatalf("flushall: %v", err)
	}
}

// checkFor polls f until it returns nil or timeout passes.
func checkFor(tb testing.TB, timeout time.Duration, f func() error) {
	tb.Helper()
	testenv.CheckFor(tb, timeout, f)
}

// fakeClock is a controlled time source.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var chicago = func() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return loc
}()

// chi is a wall time in Chicago: "2026-03-08 23:59".
func chi(tb testing.TB, s string) time.Time {
	tb.Helper()
	layout := "2006-01-02 15:04"
	if strings.Count(s, ":") == 2 {
		layout = "2006-01-02 15:04:05.999999"
	}
	t, err := time.ParseInLocation(layout, s, chicago)
	if err != nil {
		tb.Fatalf("time %q: %v", s, err)
	}
	return t
}
