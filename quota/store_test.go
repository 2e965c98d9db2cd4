package quota_test

import (
	"testing"

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
