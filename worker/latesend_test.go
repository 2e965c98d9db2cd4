package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

// slowGrants answers every other granted admission a second after the
// store decided it (a Redis reply held up, the worker descheduled): the
// call has been admitted for that second before the worker hears of it.
type slowGrants struct {
	*quota.Memory
	mu      sync.Mutex
	granted int
	delay   time.Duration
}

func (l *slowGrants) Admit(ctx context.Context, sub string, lim quota.Limits) (quota.Admission, error) {
	adm, err := l.Memory.Admit(ctx, sub, lim)
	if err != nil || !adm.Allowed {
		return adm, err
	}
	l.mu.Lock()
	l.granted++
	slow := l.granted%2 == 1
	l.mu.Unlock()
	if slow {
		time.Sleep(l.delay)
	}
	return adm, nil
}

// An admission whose answer comes late is as old as the limiter's decision,
// not as the answer: sent on it, the call reaches Marketo a second after the
// limiter counted it, and the calls admitted a window later find Marketo's
// window still holding it (606). Counted from before the limiter was asked,
// it is seen to be older than the guard band and the call is admitted again.
func TestLateAdmissionAnswerIsAdmittedAgain(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{
		Limits: marketotest.Limits{CallsPerWindow: 3, Window: 2 * time.Second, MaxConcurrency: 10, DailyQuota: 50000}})
	t.Cleanup(sim.Close)
	const n = 1500 // 5 calls of 300
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	r.publish(events)
	lim := quota.Limits{DailyQuota: 50000, CallsPerWindow: 3, Window: 2 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	store := &slowGrants{Memory: quota.NewMemory(quota.MemoryOptions{ConcurrencyPoll: 20 * time.Millisecond}), delay: time.Second}
	r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	r.waitOutcomes(n, 2*time.Minute)

	outs := r.outcomes()
	for _, e := range events {
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v, want one reposted outcome", e.ID, got)
		}
	}
	st := sim.Stats()
	if st.Violations[606] != 0 || st.Violations[615] != 0 {
		t.Errorf("caused 606 %d times and 615 %d times, want 0 (answers %v)", st.Violations[606], st.Violations[615], st.ByCode)
	}
	store.mu.Lock()
	granted := store.granted
	store.mu.Unlock()
	t.Logf("%d calls, %d admissions granted, answers %v", st.Calls, granted, st.ByCode)
}
