package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

func mustRefund(tb testing.TB, s quota.Store, l quota.Lease) {
	tb.Helper()
	if err := s.Refund(context.Background(), l); err != nil {
		tb.Fatalf("refund: %v", err)
	}
}

// A call Marketo did not count (604 and the like) is refunded: its slot,
// its place in the window and its call of the day come back, on every
// replica, once. A released lease, or one refunded already, takes nothing
// more back.
func testRefund(t *testing.T, factory newStores) {
	t0 := chi(t, "2026-11-23 10:00")
	clk := newFakeClock(t0)
	ss := factory(t, storeOpts{Now: clk.Now}, 2)
	lim := quota.Limits{DailyQuota: 5, CallsPerWindow: 2, Window: 10 * time.Second, MaxConcurrency: 1, LeaseTTL: time.Minute}

	a := mustAdmit(t, ss[0], lim)
	if !a.Lease.At.Equal(a.At) {
		t.Fatalf("lease At %s, want the admission's %s", a.Lease.At, a.At)
	}
	if r, err := ss[1].Admit(context.Background(), sub, lim); err != nil || r.Allowed || r.Limit != quota.LimitConcurrency {
		t.Fatalf("second call while the first holds the slot: %+v %v, want refused by concurrency", r, err)
	}
	clk.Add(time.Second)
	mustRefund(t, ss[1], a.Lease)
	snap := mustSnapshot(t, ss[0], lim)
	if snap.Leases != 0 || snap.CallsInWindow != 0 || snap.QuotaUsed != 0 {
		t.Fatalf("after a refund: %d leases, %d calls in the window, %d used; want none", snap.Leases, snap.CallsInWindow, snap.QuotaUsed)
	}

	// The window takes two calls again: without the refund the second
	// would be refused.
	b := mustAdmit(t, ss[1], lim)
	mustRelease(t, ss[1], b.Lease)
	c := mustAdmit(t, ss[0], lim)
	mustRelease(t, ss[0], c.Lease)
	mustRefuse(t, ss[0], lim, quota.LimitWindow, b.At.Add(lim.Window+time.Microsecond).Sub(clk.Now()))

	// Refunding again, or a released lease, takes nothing back.
	mustRefund(t, ss[0], a.Lease)
	mustRefund(t, ss[1], c.Lease)
	snap = mustSnapshot(t, ss[1], lim)
	if snap.CallsInWindow != 2 || snap.QuotaUsed != 2 {
		t.Fatalf("after refunding a refunded and a released lease: %d calls in the window, %d used; want 2 and 2", snap.CallsInWindow, snap.QuotaUsed)
	}
}

// A call admitted before Chicago midnight and refunded after it is taken
// back from its own day: the new day's count stays.
func testRefundAcrossMidnight(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 23:59:59"))
	s := factory(t, storeOpts{Now: clk.Now}, 1)[0]
	lim := quota.Limits{DailyQuota: 5, CallsPerWindow: 10, Window: 10 * time.Second, MaxConcurrency: 5, LeaseTTL: time.Minute}
	late := mustAdmit(t, s, lim)
	clk.Add(2 * time.Second)
	early := mustAdmit(t, s, lim)
	mustRefund(t, s, late.Lease)
	if snap := mustSnapshot(t, s, lim); snap.QuotaUsed != 1 || snap.Leases != 1 {
		t.Fatalf("the new day after refunding yesterday's call: %d used, %d leases; want 1 and 1", snap.QuotaUsed, snap.Leases)
	}
	mustRefund(t, s, early.Lease)
	if snap := mustSnapshot(t, s, lim); snap.QuotaUsed != 0 {
		t.Fatalf("after refunding today's call: %d used, want 0", snap.QuotaUsed)
	}
}
