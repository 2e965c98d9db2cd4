package quota_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

// lossStores returns n stores on one fresh backend and a function that
// loses the backend's state (a Redis restart without persistence).
type lossStores func(t *testing.T, o storeOpts, n int) ([]quota.Store, func())

func memoryLossStores(t *testing.T, o storeOpts, n int) ([]quota.Store, func()) {
	ss := memoryStores(t, o, n)
	return ss, func() { ss[0].(*quota.Memory).LoseState(sub) }
}

func redisLossStores(srv *redisServer) lossStores {
	return func(t *testing.T, o storeOpts, n int) ([]quota.Store, func()) {
		return redisStores(srv)(t, o, n), func() { srv.mustFlush(t) }
	}
}

func TestMemoryLossConformance(t *testing.T) { runLossConformance(t, memoryLossStores) }

func TestRedisLossConformance(t *testing.T) {
	runLossConformance(t, redisLossStores(mustRedisServer(t, false)))
}

func TestRedisClusterLossConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	runLossConformance(t, redisLossStores(mustRedisServer(t, true)))
}

func runLossConformance(t *testing.T, f lossStores) {
	t.Run("loss holds one window, then one reader restores the larger count", func(t *testing.T) { testLossRestores(t, f) })
	t.Run("the count kept since the loss wins when larger", func(t *testing.T) { testLossKeepsLarger(t, f) })
	t.Run("Marketo not asked: the worst case", func(t *testing.T) { testLossWorstCase(t, f) })
	t.Run("a dead reader hands the restore on", func(t *testing.T) { testLossDeadReader(t, f) })
}

var lossLimits = quota.Limits{DailyQuota: 100, CallsPerWindow: 10, Window: 10 * time.Second, MaxConcurrency: 5, LeaseTTL: time.Minute}

// lose spends spent calls on the first store, has every store see the
// epoch, then loses the state and returns the time of the loss.
func lose(t *testing.T, ss []quota.Store, clk *fakeClock, drop func(), spent int) time.Time {
	t.Helper()
	for i := range spent {
		mustRelease(t, ss[i%len(ss)], mustAdmit(t, ss[i%len(ss)], lossLimits).Lease)
	}
	drop()
	clk.Add(time.Second)
	return clk.Now()
}

func usage(n int, err error) quota.UsageReader {
	return func(context.Context) (int, string, error) { return n, "test usage", err }
}

func testLossRestores(t *testing.T, f lossStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss, drop := f(t, storeOpts{Now: clk.Now}, 2)
	ctx := context.Background()
	lostAt := lose(t, ss, clk, drop, 7)

	a := mustRefuse(t, ss[0], lossLimits, quota.LimitLost, lossLimits.Window)
	if !a.StateLost {
		t.Fatalf("the first admission after the loss: %+v, want StateLost", a)
	}
	if a := mustRefuse(t, ss[1], lossLimits, quota.LimitLost, lossLimits.Window); a.StateLost {
		t.Errorf("a second replica counted the same loss again: %+v", a)
	}
	if r, err := ss[1].Restore(ctx, sub, lossLimits, usage(42, nil)); err != nil || r.Done || r.RetryAfter != lossLimits.Window {
		t.Fatalf("restore during the hold: %+v, %v; want refused until the hold ends", r, err)
	}
	clk.Add(lossLimits.Window - time.Second)
	mustRefuse(t, ss[0], lossLimits, quota.LimitLost, time.Second)
	clk.Add(time.Second) // one full window since the loss
	mustRefuse(t, ss[0], lossLimits, quota.LimitRestore, quota.DefaultConcurrencyPoll)
	if s := mustSnapshot(t, ss[0], lossLimits); !s.Restoring || !s.LostAt.Equal(lostAt) {
		t.Errorf("snapshot while restoring: %+v", s)
	}

	read := func(ctx context.Context) (int, string, error) {
		// While one replica reads, the others wait: no second read, no admission.
		if r, err := ss[0].Restore(ctx, sub, lossLimits, usage(0, errors.New("must not be called"))); err != nil || r.Done || r.RetryAfter <= 0 {
			t.Errorf("second restore while one reads: %+v, %v", r, err)
		}
		mustRefuse(t, ss[0], lossLimits, quota.LimitRestore, quota.DefaultConcurrencyPoll)
		return 42, "test usage", nil
	}
	r, err := ss[1].Restore(ctx, sub, lossLimits, read)
	if err != nil || !r.Done || r.Count != 42 || r.Source != "test usage" || r.ReadErr != nil {
		t.Fatalf("restore: %+v, %v; want done at Marketo's 42", r, err)
	}
	s := mustSnapshot(t, ss[0], lossLimits)
	if s.QuotaUsed != 42 || s.Restoring || s.RestoredCount != 42 || s.RestoredFrom != "test usage" ||
		!s.RestoredAt.Equal(clk.Now()) || !s.LostAt.Equal(lostAt) || s.CallsInWindow != 1 || s.Leases != 0 {
		t.Errorf("snapshot after the restore: %+v; want 42 used from test usage, the reading call in the window, its lease released", s)
	}
	if r, err := ss[0].Restore(ctx, sub, lossLimits, usage(0, errors.New("must not be called"))); err != nil || r.Done || r.RetryAfter != 0 {
		t.Errorf("restore with nothing to restore: %+v, %v", r, err)
	}
	mustAdmit(t, ss[0], lossLimits)
	if s := mustSnapshot(t, ss[1], lossLimits); s.QuotaUsed != 43 {
		t.Errorf("quota used %d after one more call, want 43", s.QuotaUsed)
	}
}

func testLossKeepsLarger(t *testing.T, f lossStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss, drop := f(t, storeOpts{Now: clk.Now}, 1)
	lose(t, ss, clk, drop, 3)
	mustRefuse(t, ss[0], lossLimits, quota.LimitLost, lossLimits.Window)
	clk.Add(lossLimits.Window)
	r, err := ss[0].Restore(context.Background(), sub, lossLimits, usage(0, nil))
	if err != nil || !r.Done || r.Count != 1 {
		t.Fatalf("restore from a Marketo count of 0: %+v, %v; want 1 (the reading call, counted here)", r, err)
	}
}

func testLossWorstCase(t *testing.T, f lossStores) {
	for _, tc := range []struct {
		name string
		at   string
		want int
	}{
		// 00:01:00 lost, restored at 00:01:10: 7 windows of 10 calls since midnight.
		{"early in the day", "2026-11-23 00:00:59", 70},
		{"later: the whole quota", "2026-11-23 10:00", lossLimits.DailyQuota},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock(chi(t, tc.at))
			ss, drop := f(t, storeOpts{Now: clk.Now}, 1)
			lose(t, ss, clk, drop, 2)
			mustRefuse(t, ss[0], lossLimits, quota.LimitLost, lossLimits.Window)
			clk.Add(lossLimits.Window)
			down := errors.New("marketo: usage: connection refused")
			r, err := ss[0].Restore(context.Background(), sub, lossLimits, usage(5, down))
			if err != nil || !r.Done || r.Count != tc.want || r.Source != quota.SourceWorstCase || !errors.Is(r.ReadErr, down) {
				t.Fatalf("restore without Marketo: %+v, %v; want the worst case %d", r, err, tc.want)
			}
			if s := mustSnapshot(t, ss[0], lossLimits); s.QuotaUsed != tc.want || s.RestoredFrom != quota.SourceWorstCase {
				t.Errorf("snapshot %+v", s)
			}
			if tc.want == lossLimits.DailyQuota {
				a, err := ss[0].Admit(context.Background(), sub, lossLimits)
				if err != nil || a.Allowed || a.Limit != quota.LimitQuota {
					t.Errorf("admit after a worst case of the whole quota: %+v, %v; want refused by the quota", a, err)
				}
			}
		})
	}
}

func testLossDeadReader(t *testing.T, f lossStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss, drop := f(t, storeOpts{Now: clk.Now}, 2)
	lose(t, ss, clk, drop, 2)
	mustRefuse(t, ss[0], lossLimits, quota.LimitLost, lossLimits.Window)
	clk.Add(lossLimits.Window)
	ctx := context.Background()
	var late quota.Restored
	// The first reader stalls past its lease; another replica takes over and
	// restores; the stalled one's answer is then dropped.
	_, err := ss[0].Restore(ctx, sub, lossLimits, func(ctx context.Context) (int, string, error) {
		clk.Add(lossLimits.LeaseTTL)
		r, err := ss[1].Restore(ctx, sub, lossLimits, usage(30, nil))
		if err != nil || !r.Done || r.Count != 30 {
			t.Errorf("takeover: %+v, %v", r, err)
		}
		late = r
		return 99, "stalled reader", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := mustSnapshot(t, ss[0], lossLimits); s.QuotaUsed != 30 || s.RestoredFrom != "test usage" || s.Leases != 0 {
		t.Errorf("snapshot %+v after a takeover (%+v); want 30 from the second reader", s, late)
	}
}

// A replica started after the loss cannot tell it from a new subscription
// and creates the epoch; the first replica that knew the old one finds the
// loss all the same, and from then on every replica holds.
func TestRedisLossFoundAfterANewReplicaRecreatedTheEpoch(t *testing.T) {
	srv := mustRedisServer(t, false)
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss := redisStores(srv)(t, storeOpts{Now: clk.Now}, 2)
	mustAdmit(t, ss[0], lossLimits)
	srv.mustFlush(t)
	fresh := quota.NewRedis(srv.mustClient(t), quota.RedisOptions{Now: clk.Now})
	if a := mustAdmit(t, fresh, lossLimits); a.StateLost {
		t.Fatalf("a replica that never saw the epoch reported a loss: %+v", a)
	}
	if a := mustRefuse(t, ss[0], lossLimits, quota.LimitLost, lossLimits.Window); !a.StateLost {
		t.Errorf("the old replica did not report the loss: %+v", a)
	}
	mustRefuse(t, fresh, lossLimits, quota.LimitLost, lossLimits.Window)
	if a := mustRefuse(t, ss[1], lossLimits, quota.LimitLost, lossLimits.Window); a.StateLost {
		t.Errorf("the loss was reported twice: %+v", a)
	}
}

// After a loss, a lookup value nobody claims is kept for a renewal for two
// renewal intervals (4 s for a 10 s TTL): a call in flight across the loss
// renews its claims (quota.ClaimRenewEvery) and gets them back before
// another replica's new claim.
// The loss is found by the claim itself (the epoch missing, known from a
// snapshot) or by an admission (lostAt); a renewal is never refused; after
// the grace, claims are taken as before. Standalone and Cluster (the
// epoch and the claims share the subscription's slot).
func TestRedisClaimsAfterALossWaitForRenewals(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		t.Run(map[bool]string{false: "standalone", true: "cluster"}[cluster], func(t *testing.T) {
			if cluster && testing.Short() {
				t.Skip("short")
			}
			srv := mustRedisServer(t, cluster)
			ctx := context.Background()
			const ttl = 10 * time.Second
			for _, foundBy := range []string{"claim", "admission"} {
				clk := newFakeClock(chi(t, "2026-11-23 10:00"))
				ss := redisStores(srv)(t, storeOpts{Now: clk.Now}, 2)
				holder, other := ss[0], ss[1]
				mustAdmit(t, holder, lossLimits)
				mustSnapshot(t, other, lossLimits) // other knows the epoch by reading it
				if got, err := holder.Claim(ctx, sub, "holder", []string{"a@x"}, ttl); err != nil || !got[0] {
					t.Fatalf("claim before the loss: %v, %v", got, err)
				}
				srv.mustFlush(t)
				if foundBy == "admission" {
					mustRefuse(t, other, lossLimits, quota.LimitLost, lossLimits.Window)
				}
				clk.Add(time.Second)
				if got, err := other.Claim(ctx, sub, "other", []string{"a@x", "b@x"}, ttl); err != nil || got[0] || got[1] {
					t.Errorf("%s: a new claim just after the loss took %v (%v); want none", foundBy, got, err)
				}
				clk.Add(2 * time.Second)
				if got, err := holder.RenewClaims(ctx, sub, "holder", []string{"a@x"}, ttl); err != nil || !got[0] {
					t.Errorf("%s: the holder's renewal after the loss: %v, %v; want its claim back", foundBy, got, err)
				}
				clk.Add(2 * time.Second) // the grace (4 s) since the claim found the loss
				got, err := other.Claim(ctx, sub, "other", []string{"a@x", "b@x"}, ttl)
				if err != nil || got[0] || !got[1] {
					t.Errorf("%s: a new claim once the grace is over took %v (%v); want b@x only (a@x is the holder's)", foundBy, got, err)
				}
			}
			// A replica that never saw the epoch cannot tell a loss from a
			// new subscription: its claims are taken.
			srv.mustFlush(t)
			fresh := quota.NewRedis(srv.mustClient(t), quota.RedisOptions{})
			if got, err := fresh.Claim(ctx, sub, "fresh", []string{"c@x"}, ttl); err != nil || !got[0] {
				t.Errorf("a new subscription's first claim: %v, %v", got, err)
			}
		})
	}
}
