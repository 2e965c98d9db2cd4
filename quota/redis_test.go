package quota_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/quota"
)

// TestRedisFailsClosed: with Redis stopped no call is admitted; admission
// recovers by itself when Redis returns on the same port.
func TestRedisFailsClosed(t *testing.T) {
	srv := mustRedisServer(t, false)
	s := quota.NewRedis(srv.mustClient(t), quota.RedisOptions{})
	lim := quota.Limits{CallsPerWindow: 1000, Window: time.Second}
	ctx := context.Background()
	mustRelease(t, s, mustAdmit(t, s, lim).Lease)

	srv.stop()
	for range 3 {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		a, err := s.Admit(actx, sub, lim)
		cancel()
		if err == nil || a.Allowed {
			t.Fatalf("admit with Redis down: %+v, %v; want an error and no admission", a, err)
		}
		if !errors.Is(err, quota.ErrUnavailable) {
			t.Fatalf("admit with Redis down: %v, want ErrUnavailable", err)
		}
	}
	if err := s.Penalize(ctx, sub, 606, lim); !errors.Is(err, quota.ErrUnavailable) {
		t.Errorf("penalize with Redis down: %v", err)
	}
	if _, err := s.Snapshot(ctx, sub, lim); !errors.Is(err, quota.ErrUnavailable) {
		t.Errorf("snapshot with Redis down: %v", err)
	}

	srv.mustRestart(t)
	// The restart lost the state (no persistence): held one window, then
	// the day's count restored, then admitted again.
	checkFor(t, 10*time.Second, func() error {
		a, err := s.Admit(ctx, sub, lim)
		if err != nil {
			return err
		}
		if a.Limit == quota.LimitRestore {
			_, err := s.Restore(ctx, sub, lim, func(context.Context) (int, string, error) { return 1, "test", nil })
			return fmt.Errorf("restored (%v)", err)
		}
		if !a.Allowed {
			return errors.New("refused: " + a.Reason)
		}
		return s.Release(ctx, a.Lease)
	})
}

// TestRedisLeaseExpiresRealTime: a holder that dies loses its slot after the
// lease TTL, timed by Redis TIME.
func TestRedisLeaseExpiresRealTime(t *testing.T) {
	srv := mustRedisServer(t, false)
	ss := redisStores(srv)(t, storeOpts{ConcurrencyPoll: time.Second}, 2)
	lim := quota.Limits{MaxConcurrency: 1, LeaseTTL: 300 * time.Millisecond}
	dead := mustAdmit(t, ss[0], lim)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		a, err := ss[1].Admit(ctx, sub, lim)
		if err != nil {
			t.Fatalf("admit: %v", err)
		}
		if a.Allowed {
			if held := a.At.Sub(dead.At); held < lim.LeaseTTL || !a.At.Before(dead.Lease.Expires.Add(3*time.Second)) {
				t.Fatalf("slot freed after %s, want the lease TTL %s", held, lim.LeaseTTL)
			}
			return
		}
		if a.Limit != quota.LimitConcurrency || a.RetryAfter > lim.LeaseTTL {
			t.Fatalf("refused by %s after %s, want concurrency within the TTL", a.Limit, a.RetryAfter)
		}
		wait(ctx, a.RetryAfter)
	}
}

// TestRedisOneRoundTrip: one Admit is exactly one command, an EVALSHA,
// counted both by a client hook and by the server's INFO commandstats.
func TestRedisOneRoundTrip(t *testing.T) {
	srv := mustRedisServer(t, false)
	c := srv.mustClient(t)
	counter := &cmdCounter{}
	c.AddHook(counter)
	s := quota.NewRedis(c, quota.RedisOptions{})
	lim := quota.Limits{DailyQuota: 30, CallsPerWindow: 20, MaxConcurrency: 10}
	ctx := context.Background()
	mustAdmit(t, s, lim) // loads the script (NOSCRIPT, then EVAL)
	counter.reset()
	before := commandStats(t, srv)
	const n = 50 // allowed, then refused by concurrency, window and quota
	for range n {
		if _, err := s.Admit(ctx, sub, lim); err != nil {
			t.Fatalf("admit: %v", err)
		}
	}
	if got, total := counter.get(); total != n || got["evalsha"] != n {
		t.Errorf("client sent %v for %d admissions, want %d evalsha only", got, n, n)
	}
	// The server counts the script's inner commands too; the client-issued
	// ones that could carry an admission are the script runners.
	after := commandStats(t, srv)
	for _, name := range []string{"evalsha", "eval", "evalsha_ro", "eval_ro", "script|load", "multi", "exec"} {
		want := int64(0)
		if name == "evalsha" {
			want = n
		}
		if d := after[name] - before[name]; d != want {
			t.Errorf("server ran %d %s for %d admissions, want %d", d, name, n, want)
		}
	}
}

// Marking and reading a whole batch of leads is one command each way.
func TestRedisBatchedMarksOneRoundTrip(t *testing.T) {
	srv := mustRedisServer(t, false)
	c := srv.mustClient(t)
	s := quota.NewRedis(c, quota.RedisOptions{})
	ctx := context.Background()
	leads := make([]string, 300)
	at := make([]time.Time, 300)
	for i := range leads {
		leads[i], at[i] = fmt.Sprintf("L-%d", i), time.Now()
	}
	if err := s.MarkSuccesses(ctx, sub, leads[:1], at[:1]); err != nil { // loads the script
		t.Fatal(err)
	}
	counter := &cmdCounter{}
	c.AddHook(counter)
	counter.reset()
	if err := s.MarkSuccesses(ctx, sub, leads, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.LastSuccesses(ctx, sub, leads)
	if err != nil || len(got) != 300 || got[299].IsZero() {
		t.Fatalf("last successes: %d, %v", len(got), err)
	}
	if n, total := counter.get(); total != 2 || n["evalsha"] != 1 || n["mget"] != 1 {
		t.Errorf("client sent %v for 300 marks and 300 reads, want one evalsha and one mget", n)
	}
}

// cmdCounter is a go-redis hook counting commands by name.
type cmdCounter struct {
	mu    sync.Mutex
	n     map[string]int
	total int
}

func (c *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[cmd.Name()]++
		c.total++
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (c *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		for _, cmd := range cmds {
			c.n[cmd.Name()]++
			c.total++
		}
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (c *cmdCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.total = map[string]int{}, 0
}

// get returns the counts by name and their total.
func (c *cmdCounter) get() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.n {
		out[k] = v
	}
	return out, c.total
}

// commandStats reads INFO commandstats: command → calls.
func commandStats(tb testing.TB, srv *redisServer) map[string]int64 {
	tb.Helper()
	return commandStat(tb, srv, "calls=")
}

// commandStat reads one integer field of INFO commandstats per command
// ("calls=", "usec=").
func commandStat(tb testing.TB, srv *redisServer, field string) map[string]int64 {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatalf("info: %v", err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, f := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(f, field); ok {
				var n int64
				for _, ch := range v {
					n = n*10 + int64(ch-'0')
				}
				out[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return out
}
