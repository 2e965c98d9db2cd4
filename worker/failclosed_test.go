package worker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

// downLimiter is a limiter whose Redis is unreachable while down is set.
type downLimiter struct {
	*quota.Memory
	down atomic.Bool
}

var errDown = errors.New("redis: connection refused")

func (d *downLimiter) Admit(ctx context.Context, sub string, lim quota.Limits) (quota.Admission, error) {
	if d.down.Load() {
		return quota.Admission{}, errDown
	}
	return d.Memory.Admit(ctx, sub, lim)
}

// While the limiter cannot be reached nothing is sent to Marketo (fail
// closed); when it returns, every event is reposted once.
func TestLimiterUnreachableFailsClosed(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	lim := &downLimiter{Memory: quota.NewMemory(quota.MemoryOptions{})}
	lim.down.Store(true)
	events := make([]fixture.Event, 300)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	r.publish(events)
	r.startReplica(lim, []sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	time.Sleep(1500 * time.Millisecond) // the outage: prove that nothing is sent during it
	if c := sim.Stats().Calls; c != 0 {
		t.Fatalf("%d Marketo calls while the limiter was unreachable", c)
	}
	if n := r.outcomeCount(); n != 0 {
		t.Fatalf("%d outcomes while the limiter was unreachable", n)
	}
	lim.down.Store(false)
	r.waitOutcomes(len(events), 30*time.Second)
	for id, outs := range r.outcomes() {
		if len(outs) != 1 || outs[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v", id, outs)
		}
	}
}
