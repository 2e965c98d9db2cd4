// Package testenv starts the real servers repost's tests run against: an
// embedded nats-server with JetStream (alone, or a 3-server cluster routed on
// loopback), a throwaway redis-server on a free port, and the Marketo
// simulator; and it polls for conditions instead of
// sleeping a fixed time.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/queue"
)

// CheckFor polls cond every 10 ms until it returns nil or timeout passes,
// then fails the test with cond's last error.
func CheckFor(tb testing.TB, timeout time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("condition not met after %s: %v", timeout, err)
}

// StockMaxPayload is the max_payload of NATS's server: a stock
// nats-server's 1 MiB, as in production.
const StockMaxPayload = queue.StockMaxPayload

// NATS starts an embedded JetStream server storing under a temp dir, taking
// messages of at most StockMaxPayload bytes; shut down at cleanup.
func NATS(tb testing.TB) *queue.Embedded {
	tb.Helper()
	e, err := queue.StartEmbeddedMax(tb.TempDir(), 0, StockMaxPayload)
	if err != nil {
		tb.Fatalf("embedded NATS: %v", err)
	}
	tb.Cleanup(e.Shutdown)
	return e
}

// Queue connects to url with opts and ensures the streams; closed at cleanup.
func Queue(tb testing.TB, url string, opts queue.Options) *queue.Queue {
	tb.Helper()
	opts.URL = url
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := queue.Connect(ctx, opts)
	if err != nil {
		tb.Fatalf("connect NATS: %v", err)
	}
	if err := q.Ensure(ctx); err != nil {
		tb.Fatalf("ensure streams: %v", err)
	}
	tb.Cleanup(q.Close)
	return q
}

// Redis is a throwaway redis-server on a loopback port.
type Redis struct {
	Addr string
	args []string // extra arguments (cluster or sentinel mode)
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts a redis-server stopped at cleanup. It skips the test
// when redis-server is not installed, unless REPOST_REQUIRE_REDIS=1 (CI),
// where it fails instead: Redis-backed tests never silently skip in CI.
func StartRedis(tb testing.TB) *Redis { return startRedis(tb) }

func startRedis(tb testing.TB, args ...string) *Redis {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("REPOST_REQUIRE_REDIS") == "1" {
			tb.Fatalf("redis-server required (REPOST_REQUIRE_REDIS=1): %v", err)
		}
		tb.Skipf("redis-server not installed: %v", err)
	}
	r := &Redis{dir: tb.TempDir(), args: args}
	var err error
	for range 3 { // another process may take the free port first
		r.Addr = FreeAddr(tb)
		if err = r.Start(); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	tb.Cleanup(r.Stop)
	return r
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// URL is the redis:// URL of the server.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// Client returns a new client of the server, closed at cleanup.
func (r *Redis) Client(tb testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Start runs redis-server on r.Addr and waits until it answers.
func (r *Redis) Start() error {
	_, port, _ := net.SplitHostPort(r.Addr)
	var argv []string
	if len(r.args) > 0 && r.args[0] == "--sentinel" {
		conf := r.dir + "/sentinel.conf"
		if err := os.WriteFile(conf, []byte(strings.Join(r.args[1:], "\n")+"\n"), 0o600); err != nil {
			return err
		}
		argv = []string{conf, "--sentinel", "--port", port, "--bind", "127.0.0.1", "--dir", r.dir, "--loglevel", "warning"}
	} else {
		argv = append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", r.dir, "--loglevel", "warning"}, r.args...)
	}
	cmd := exec.Command("redis-server", argv...)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.mu.Lock()
	r.cmd, r.done = cmd, done
	r.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("redis-server on %s exited", r.Addr)
		default:
		}
		if c.Ping(context.Background()).Err() == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Stop()
	return fmt.Errorf("redis-server on %s not ready", r.Addr)
}

// Stop kills the server and waits for it to exit.
func (r *Redis) Stop() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// StartRedisCluster starts a one-node Redis Cluster owning every slot: the
// smallest cluster a Cluster client and cross-slot checks can run against.
func StartRedisCluster(tb testing.TB) *Redis {
	tb.Helper()
	r := startRedis(tb, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	ctx := context.Background()
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		tb.Fatalf("cluster addslots: %v", err)
	}
	CheckFor(tb, 10*time.Second, func() error {
		info, err := c.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("cluster state not ok yet")
		}
		return nil
	})
	return r
}

// StartRedisSentinel starts a Sentinel watching primary under the name master.
func StartRedisSentinel(tb testing.TB, primary *Redis, master string) *Redis {
	tb.Helper()
	host, port, _ := net.SplitHostPort(primary.Addr)
	s := startRedis(tb, "--sentinel",
		fmt.Sprintf("sentinel monitor %s %s %s 1", master, host, port),
		fmt.Sprintf("sentinel down-after-milliseconds %s 5000", master))
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	CheckFor(tb, 10*time.Second, func() error {
		_, err := c.GetMasterAddrByName(context.Background(), master).Result()
		return err
	})
	return s
}
