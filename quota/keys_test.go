package quota_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/quota"
)

// TestRedisKeysBounded: after a run touching every kind of key, each key of
// the store has a TTL, except the halt flag (one field, bounded); the
// sorted sets stay within their limits.
func TestRedisKeysBounded(t *testing.T) {
	srv := mustRedisServer(t, false)
	c := srv.mustClient(t)
	s := quota.NewRedis(c, quota.RedisOptions{ConcurrencyPoll: time.Millisecond})
	ctx := context.Background()
	lim := quota.Limits{DailyQuota: 40, CallsPerWindow: 15, Window: time.Second, MaxConcurrency: 4, LeaseTTL: time.Minute}
	subs := []string{"111-AAA-111", "222-BBB-222", "333-CCC-333"}
	for _, sb := range subs {
		var held []quota.Lease
		for range 30 {
			a, err := s.Admit(ctx, sb, lim)
			if err != nil {
				t.Fatalf("admit: %v", err)
			}
			if a.Allowed {
				held = append(held, a.Lease)
			}
			if len(held) == lim.MaxConcurrency {
				mustRelease(t, s, held[0])
				held = held[1:]
			}
		}
		for _, code := range []int{606, 607, 615} {
			if err := s.Penalize(ctx, sb, code, lim); err != nil {
				t.Fatalf("penalize: %v", err)
			}
		}
		mustDo(t, s.MarkSuccess(ctx, sb, "L-1", time.Now()))
		mustDo(t, call(s.Claim(ctx, sb, "w1", []string{"a@example.com", "b@example.com"}, time.Minute)))
		tokens := quota.NewRedisTokenStore(c, quota.TokenStoreOptions{Secrets: map[string]string{sb: "secret"}})
		mustDo(t, tokens.Store(ctx, sb, "tok", time.Now().Add(time.Hour)))
		if _, ok, err := tokens.Lock(ctx, sb, time.Minute); !ok || err != nil {
			t.Fatalf("lock: %v %v", ok, err)
		}
	}
	mustDo(t, s.Halt(ctx, subs[0], "603"))
	mustDo(t, s.Halt(ctx, subs[1], "401"))
	mustDo(t, s.Resume(ctx, subs[1]))
	checkKeys(t, c, lim)
}

func mustDo(tb testing.TB, err ...error) {
	tb.Helper()
	for _, e := range err {
		if e != nil {
			tb.Fatal(e)
		}
	}
}

func checkKeys(t *testing.T, c redis.UniversalClient, lim quota.Limits) {
	ctx := context.Background()
	seen := map[string]bool{}
	iter := c.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		if !strings.HasPrefix(k, "repost:{") {
			t.Errorf("key %q outside the repost:{sub} namespace", k)
		}
		kind := k[strings.Index(k, "}:")+2:]
		kind, _, _ = strings.Cut(kind, ":")
		seen[kind] = true
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case kind == "halt":
			if n := c.HLen(ctx, k).Val(); n != 1 {
				t.Errorf("halt %s has %d fields", k, n)
			}
		case kind == "epoch": // lives as long as the state it vouches for; a few fields
			if n := c.HLen(ctx, k).Val(); n < 2 || n > 12 {
				t.Errorf("epoch %s has %d fields", k, n)
			}
		case ttl <= 0:
			t.Errorf("key %s has no TTL (%s)", k, ttl)
		case ttl > 31*24*time.Hour:
			t.Errorf("key %s lives %s", k, ttl)
		case kind == "quota" && ttl > time.Until(nextChicagoMidnight())+61*time.Second:
			t.Errorf("quota key %s lives %s, past the reset", k, ttl)
		}
		limits := map[string]int64{"window": int64(lim.CallsPerWindow), "leases": int64(lim.MaxConcurrency)}
		if max, ok := limits[kind]; ok {
			if n := c.ZCard(ctx, k).Val(); n > max {
				t.Errorf("%s holds %d members, max %d", k, n, max)
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"window", "leases", "conc", "block", "halt", "quota", "success", "claim", "token", "epoch"} {
		if !seen[kind] {
			t.Errorf("no %s key: the run did not cover it", kind)
		}
	}
}

func nextChicagoMidnight() time.Time {
	y, m, d := time.Now().In(chicago).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, chicago)
}

// TestRedisMarkAndClaimTTL: success marks live 30 days; a claim of a dead
// owner frees itself after its TTL.
func TestRedisMarkAndClaimTTL(t *testing.T) {
	srv := mustRedisServer(t, false)
	c := srv.mustClient(t)
	ss := redisStores(srv)(t, storeOpts{}, 2)
	ctx := context.Background()
	mustDo(t, ss[0].MarkSuccess(ctx, sub, "L-1", time.Now()))
	ttl := c.PTTL(ctx, "repost:{"+sub+"}:success:L-1").Val()
	if ttl <= 30*24*time.Hour-time.Minute || ttl > 30*24*time.Hour {
		t.Errorf("success mark TTL %s, want 30 days", ttl)
	}
	got, err := ss[0].Claim(ctx, sub, "dead", []string{"x@example.com"}, 200*time.Millisecond)
	if err != nil || !got[0] {
		t.Fatalf("claim: %v %v", got, err)
	}
	start := time.Now()
	checkFor(t, 3*time.Second, func() error {
		got, err := ss[1].Claim(ctx, sub, "alive", []string{"x@example.com"}, time.Minute)
		if err != nil {
			return err
		}
		if !got[0] {
			return context.DeadlineExceeded
		}
		return nil
	})
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("claim freed after %s, before its TTL", d)
	}
}

// TestRedisAnsweredKeepsTheWindowKey: a place that an answer moves later
// than its admission keeps the window key alive until it ends; the key
// would otherwise expire a window after the last admission and forget it.
func TestRedisAnsweredKeepsTheWindowKey(t *testing.T) {
	srv := mustRedisServer(t, false)
	c := srv.mustClient(t)
	clk := newFakeClock(time.Now())
	s := redisStores(srv)(t, storeOpts{Now: clk.Now}, 1)[0]
	ctx := context.Background()
	lim := quota.Limits{DailyQuota: 100, CallsPerWindow: 5, Window: 2 * time.Second, MaxConcurrency: 5, LeaseTTL: time.Minute}
	a := mustAdmit(t, s, lim)
	clk.Add(30 * time.Second) // a 30 s call (the key's TTL runs in real time: 1.5 s of it)
	time.Sleep(1500 * time.Millisecond)
	mustDo(t, s.Answered(ctx, a.Lease, lim, 200*time.Millisecond))
	if ttl := c.PTTL(ctx, "repost:{"+sub+"}:window").Val(); ttl < 2500*time.Millisecond {
		t.Errorf("window key TTL %s after a place moved past its admission, want 2.8s (the window less the guard, and a second)", ttl)
	}
	if snap := mustSnapshot(t, s, lim); snap.CallsInWindow != 1 {
		t.Errorf("%d calls in the window right after the answer, want 1", snap.CallsInWindow)
	}
}
