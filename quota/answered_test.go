package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

func mustAnswered(tb testing.TB, s quota.Store, l quota.Lease, lim quota.Limits, guard time.Duration) {
	tb.Helper()
	if err := s.Answered(context.Background(), l, lim, guard); err != nil {
		tb.Fatalf("answered: %v", err)
	}
}

// A call whose answer is in was counted by Marketo no later than the
// answer (and no sooner than it was sent): its place in the window
// (counted over Marketo's window plus a guard band) then ends one of
// Marketo's windows after the answer. An answer within the guard band
// frees the place sooner than a guarded window after the admission; a
// later one holds it longer (the call may have been counted that late). A
// lease already released moves nothing, and the lease is released either
// way, on every replica.
func testAnswered(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss := factory(t, storeOpts{Now: clk.Now}, 2)
	const guard = time.Second
	// Marketo's window is 10 s: the limiter counts 11.
	lim := quota.Limits{DailyQuota: 100, CallsPerWindow: 1, Window: 11 * time.Second, MaxConcurrency: 5, LeaseTTL: time.Minute}

	a := mustAdmit(t, ss[0], lim)
	clk.Add(300 * time.Millisecond)
	mustAnswered(t, ss[1], a.Lease, lim, guard)
	answered := clk.Now()
	if snap := mustSnapshot(t, ss[0], lim); snap.Leases != 0 || snap.CallsInWindow != 1 || snap.QuotaUsed != 1 {
		t.Fatalf("after the answer: %d leases, %d calls in the window, %d used; want 0, 1, 1", snap.Leases, snap.CallsInWindow, snap.QuotaUsed)
	}
	// The next call may go one Marketo window after the answer, 700 ms
	// before a guarded window after the admission.
	mustRefuse(t, ss[0], lim, quota.LimitWindow, answered.Add(10*time.Second+time.Microsecond).Sub(clk.Now()))
	clk.Set(answered.Add(10*time.Second + time.Microsecond))
	b := mustAdmit(t, ss[1], lim)

	// Answered 2 s after its admission, more than the guard band: the place
	// moves later, to one Marketo window after the answer.
	clk.Add(2 * time.Second)
	mustAnswered(t, ss[0], b.Lease, lim, guard)
	answered = clk.Now()
	clk.Set(b.At.Add(lim.Window + time.Microsecond)) // a guarded window after the admission
	mustRefuse(t, ss[1], lim, quota.LimitWindow, answered.Add(10*time.Second+time.Microsecond).Sub(clk.Now()))

	// A released lease moves nothing.
	clk.Set(answered.Add(10*time.Second + time.Microsecond))
	c := mustAdmit(t, ss[0], lim)
	mustRelease(t, ss[0], c.Lease)
	clk.Add(100 * time.Millisecond)
	mustAnswered(t, ss[1], c.Lease, lim, guard)
	mustRefuse(t, ss[1], lim, quota.LimitWindow, c.At.Add(lim.Window+time.Microsecond).Sub(clk.Now()))

	// Refunding an answered call takes nothing back: its lease is gone.
	mustRefund(t, ss[0], a.Lease)
	if snap := mustSnapshot(t, ss[1], lim); snap.QuotaUsed != 3 || snap.Leases != 0 {
		t.Fatalf("at the end: %d used, %d leases; want 3 and 0", snap.QuotaUsed, snap.Leases)
	}
}
