package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

// repostd works with Redis standalone, behind Sentinel, and on Cluster: the
// worker drains events and its admissions are counted in that Redis.
func TestRedisModes(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(t *testing.T) config.Redis
	}{
		{"standalone", func(t *testing.T) config.Redis {
			return config.Redis{URL: config.URL(testenv.StartRedis(t).URL())}
		}},
		{"sentinel", func(t *testing.T) config.Redis {
			primary := testenv.StartRedis(t)
			s := testenv.StartRedisSentinel(t, primary, "repost-primary")
			return config.Redis{Mode: config.RedisSentinel, URL: config.URL("redis://" + s.Addr + "?master_name=repost-primary")}
		}},
		{"cluster", func(t *testing.T) config.Redis {
			return config.Redis{Mode: config.RedisCluster, URL: config.URL("redis://" + testenv.StartRedisCluster(t).Addr)}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := marketotest.NewServer(marketotest.Options{})
			t.Cleanup(sim.Close)
			cfg := demoConfig(t.TempDir(), sim.URL)
			cfg.Redis = tc.cfg(t)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			a, err := newApp(ctx, cfg, zap.NewNop(), appOptions{})
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- a.run(ctx) }()
			defer func() { cancel(); <-done }()
			b := a.q.NewBatch()
			for i := range 50 {
				e := fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
				b.Failed(e.Sub, e.ID, e.Data)
			}
			if err := b.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			testenv.CheckFor(t, 30*time.Second, func() error {
				if n := sim.LeadCount(); n < 50 {
					return fmt.Errorf("%d of 50 leads in the simulator", n)
				}
				return nil
			})
			snap, err := a.store.Snapshot(ctx, fixture.Sub, quota.Limits{DailyQuota: 50000, CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 10})
			if err != nil {
				t.Fatal(err)
			}
			if snap.QuotaUsed < 1 {
				t.Errorf("quota used %d: admissions did not go through this Redis", snap.QuotaUsed)
			}
			keys, err := a.rdb.Keys(ctx, "repost:{"+fixture.Sub+"}:*").Result()
			if err != nil || len(keys) == 0 {
				t.Errorf("no repost keys in %s Redis: %v %v", tc.name, keys, err)
			}
		})
	}
}
