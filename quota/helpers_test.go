package quota_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a throwaway redis-server on a free loopback port.
type redisServer struct {
	tb      testing.TB
	addr    string
	dir     string
	cluster bool
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
}

// mustRedisServer starts a redis-server for tb, stopped at cleanup. It skips
// when redis-server is missing, unless REPOST_REQUIRE_REDIS=1 (CI).
func mustRedisServer(tb testing.TB, cluster bool) *redisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("REPOST_REQUIRE_REDIS") == "1" {
			tb.Fatalf("redis-server required (REPOST_REQUIRE_REDIS=1): %v", err)
		}
		tb.Skipf("redis-server not installed: %v", err)
	}
	s := &redisServer{tb: tb, dir: tb.TempDir(), cluster: cluster}
	var err error
	for range 3 { // another process may take the free port first
		s.addr = freeAddr(tb)
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	tb.Cleanup(s.stop)
	if cluster {
		s.mustAssignSlots()
	}
	return s
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs redis-server on s.addr and waits until it answers PING.
func (s *redisServer) start() error {
	_, port, _ := net.SplitHostPort(s.addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--loglevel", "warning"}
	if s.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("redis-server on %s exited", s.addr)
		default:
		}
		if c.Ping(context.Background()).Err() == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond) // polling the server's start, not a fixed wait
	}
	s.stop()
	return fmt.Errorf("redis-server on %s not ready", s.addr)
}

// stop kills the server and waits for it to exit.
func (s *redisServer) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// mustRestart starts the server again on the same port.
func (s *redisServer) mustRestart(tb testing.TB) {
	tb.Helper()
	if err := s.start(); err != nil {
		tb.Fatalf("restart redis-server: %v", err)
	}
}

// mustAssignSlots makes a one-node Cluster: every slot on this node.
func (s *redisServer) mustAssignSlots() {
	tb := s.tb
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	defer c.Close()
	ctx := context.Background()
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		tb.Fatalf("cluster addslots: %v", err)
	}
	checkFor(tb, 10*time.Second, func() error {
		info, err := c.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return errors.New("cluster state not ok yet")
		}
		return nil
	})
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
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
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

func itoa(i int) string { return strconv.Itoa(i) }
