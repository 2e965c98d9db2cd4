package quota_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

func memoryStores(t *testing.T, o storeOpts, n int) []quota.Store {
	m := quota.NewMemory(quota.MemoryOptions{
		Now: o.Now, ConcurrencyPoll: o.ConcurrencyPoll, PenaltyBlock615: o.PenaltyBlock615, HaltPoll: o.HaltPoll,
	})
	t.Cleanup(func() { _ = m.Close() })
	ss := make([]quota.Store, n)
	for i := range ss {
		ss[i] = m
	}
	return ss
}

// redisStores returns a factory of n stores, each on its own client (a
// replica), on srv flushed first.
func redisStores(srv *redisServer) newStores {
	return func(t *testing.T, o storeOpts, n int) []quota.Store {
		srv.mustFlush(t)
		ss := make([]quota.Store, n)
		for i := range ss {
			r := quota.NewRedis(srv.mustClient(t), quota.RedisOptions{
				Now: o.Now, ConcurrencyPoll: o.ConcurrencyPoll, PenaltyBlock615: o.PenaltyBlock615, HaltPoll: o.HaltPoll,
			})
			t.Cleanup(func() { _ = r.Close() })
			ss[i] = r
		}
		return ss
	}
}

func TestMemoryConformance(t *testing.T) {
	runConformance(t, memoryStores)
}

func TestRedisConformance(t *testing.T) {
	runConformance(t, redisStores(mustRedisServer(t, false)))
}

// TestRedisClusterConformance runs the suite on a one-node Redis Cluster:
// a script touching keys of two slots fails there with CROSSSLOT.
func TestRedisClusterConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	runConformance(t, redisStores(mustRedisServer(t, true)))
}

// The in-process store keeps a bounded number of success marks, forgetting
// the oldest, so a one-replica backlog does not grow its memory.
func TestMemoryMarksAreBounded(t *testing.T) {
	ctx := context.Background()
	m := quota.NewMemory(quota.MemoryOptions{MaxMarks: 3})
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		if err := m.MarkSuccess(ctx, "123-ABC-456", fmt.Sprintf("L-%d", i), at); err != nil {
			t.Fatal(err)
		}
	}
	// Updating a kept mark does not make room for more.
	if err := m.MarkSuccess(ctx, "123-ABC-456", "L-4", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_, ok, err := m.LastSuccess(ctx, "123-ABC-456", fmt.Sprintf("L-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if want := i >= 2; ok != want {
			t.Errorf("L-%d remembered %v, want %v (the 3 newest)", i, ok, want)
		}
	}
	if got, _, _ := m.LastSuccess(ctx, "123-ABC-456", "L-4"); !got.Equal(at.Add(time.Hour)) {
		t.Errorf("L-4 = %v, want the later mark", got)
	}
}
