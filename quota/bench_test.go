package quota_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

// BenchmarkAdmit measures admissions per second with 1 and 8 clients (one
// goroutine each) on one subscription, and reports the commands each
// admission sent (a hook on every client): one EVALSHA, one round trip.
// Leases expire after 1 ms and are not released, so every iteration is
// exactly one Admit.
func BenchmarkAdmit(b *testing.B) {
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			srv := mustRedisServer(b, false)
			lim := quota.Limits{DailyQuota: 1 << 30, CallsPerWindow: 1 << 30, Window: time.Millisecond,
				MaxConcurrency: 1 << 20, LeaseTTL: time.Millisecond}
			counter := &cmdCounter{}
			stores := make([]*quota.Redis, clients)
			for i := range stores {
				c := srv.mustClient(b)
				c.AddHook(counter)
				stores[i] = quota.NewRedis(c, quota.RedisOptions{})
				if _, err := stores[i].Admit(context.Background(), sub, lim); err != nil { // loads the script
					b.Fatal(err)
				}
			}
			counter.reset()
			usec := commandStat(b, srv, "usec=")["evalsha"]
			var next, allowed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for _, s := range stores {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						a, err := s.Admit(context.Background(), sub, lim)
						if err != nil {
							b.Error(err)
							return
						}
						if a.Allowed {
							allowed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			usec = commandStat(b, srv, "usec=")["evalsha"] - usec
			byName, total := counter.get()
			b.ReportMetric(float64(usec)/float64(b.N), "redis-µs/admit")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "admits/s")
			b.ReportMetric(float64(total)/float64(b.N), "cmds/admit")
			b.ReportMetric(float64(byName["evalsha"])/float64(b.N), "evalsha/admit")
			if total != b.N || byName["evalsha"] != b.N {
				b.Errorf("%d admissions sent %v", b.N, byName)
			}
			if allowed.Load() == 0 {
				b.Error("nothing admitted")
			}
		})
	}
}
