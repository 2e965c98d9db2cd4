package quota_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

func testQuotaReset(t *testing.T, factory newStores) {
	tests := []struct {
		name      string
		at        string // Chicago wall time when the quota is used up
		wantReset string // the next Chicago midnight
	}{
		{"plain day", "2026-11-23 23:59", "2026-11-24 00:00"},
		{"eve of spring forward", "2026-03-07 23:59", "2026-03-08 00:00"},
		{"spring forward day (23 h)", "2026-03-08 23:59", "2026-03-09 00:00"},
		{"spring forward day, early", "2026-03-08 00:30", "2026-03-09 00:00"},
		{"eve of fall back", "2026-10-31 23:59", "2026-11-01 00:00"},
		{"fall back day (25 h)", "2026-11-01 23:59", "2026-11-02 00:00"},
		{"fall back day, early", "2026-11-01 00:30", "2026-11-02 00:00"},
		{"last microsecond", "2026-11-01 23:59:59.999999", "2026-11-02 00:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, reset := chi(t, tc.at), chi(t, tc.wantReset)
			clk := newFakeClock(at)
			ss := factory(t, storeOpts{Now: clk.Now}, 2)
			lim := quota.Limits{DailyQuota: 2, CallsPerWindow: 100, Window: time.Millisecond, MaxConcurrency: 10}
			for range 2 {
				mustRelease(t, ss[0], mustAdmit(t, ss[0], lim).Lease)
			}
			mustRefuse(t, ss[1], lim, quota.LimitQuota, reset.Sub(at))
			if snap := mustSnapshot(t, ss[1], lim); !snap.ResetAt.Equal(reset) || snap.QuotaUsed != 2 {
				t.Fatalf("snapshot: reset %s used %d, want %s and 2", snap.ResetAt, snap.QuotaUsed, reset)
			}
			clk.Set(reset.Add(-time.Microsecond))
			mustRefuse(t, ss[1], lim, quota.LimitQuota, time.Microsecond)
			clk.Set(reset)
			mustRelease(t, ss[1], mustAdmit(t, ss[1], lim).Lease)
			if snap := mustSnapshot(t, ss[0], lim); snap.QuotaUsed != 1 || !snap.ResetAt.Equal(reset.AddDate(0, 0, 1)) {
				t.Errorf("new day snapshot: used %d reset %s, want 1 and %s", snap.QuotaUsed, snap.ResetAt, reset.AddDate(0, 0, 1))
			}
		})
	}
}

func testPenalty606(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss := factory(t, storeOpts{Now: clk.Now}, 2)
	lim := quota.Limits{Window: 20 * time.Second}
	if err := ss[0].Penalize(context.Background(), sub, 606, lim); err != nil {
		t.Fatalf("penalize: %v", err)
	}
	a := mustRefuse(t, ss[1], lim, quota.LimitBlocked, 20*time.Second)
	if !strings.Contains(a.Reason, "606") {
		t.Errorf("reason %q does not name 606", a.Reason)
	}
	snap := mustSnapshot(t, ss[1], lim)
	if !snap.BlockedUntil.Equal(clk.Now().Add(20*time.Second)) || !strings.Contains(snap.BlockReason, "606") {
		t.Errorf("snapshot block %s %q", snap.BlockedUntil, snap.BlockReason)
	}
	clk.Add(20 * time.Second)
	mustRelease(t, ss[1], mustAdmit(t, ss[1], lim).Lease)
	if snap := mustSnapshot(t, ss[0], lim); !snap.BlockedUntil.IsZero() || snap.BlockReason != "" {
		t.Errorf("block still shown after it ended: %+v", snap)
	}
}

func testPenalty607(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 15:00"))
	ss := factory(t, storeOpts{Now: clk.Now}, 2)
	lim := quota.Limits{DailyQuota: 50, Window: 20 * time.Second}
	mustRelease(t, ss[0], mustAdmit(t, ss[0], lim).Lease)
	if err := ss[0].Penalize(context.Background(), sub, 607, lim); err != nil {
		t.Fatalf("penalize: %v", err)
	}
	// A later, shorter penalty does not shorten the block.
	if err := ss[1].Penalize(context.Background(), sub, 606, lim); err != nil {
		t.Fatalf("penalize: %v", err)
	}
	a := mustRefuse(t, ss[1], lim, quota.LimitBlocked, 9*time.Hour)
	if !strings.Contains(a.Reason, "607") {
		t.Errorf("reason %q does not name 607", a.Reason)
	}
	if snap := mustSnapshot(t, ss[1], lim); snap.QuotaUsed != 50 || snap.QuotaLeft() != 0 {
		t.Errorf("snapshot: %d used, want the quota (50) exhausted", snap.QuotaUsed)
	}
	clk.Add(9 * time.Hour)
	mustRelease(t, ss[1], mustAdmit(t, ss[1], lim).Lease)
}

func testPenalty615(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss := factory(t, storeOpts{Now: clk.Now, PenaltyBlock615: 2 * time.Second, ConcurrencyPoll: time.Second}, 2)
	lim := quota.Limits{CallsPerWindow: 1000, Window: 20 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Hour}
	eff := func() int { return mustSnapshot(t, ss[1], lim).EffectiveConcurrency }
	penalize := func() {
		t.Helper()
		if err := ss[0].Penalize(context.Background(), sub, 615, lim); err != nil {
			t.Fatalf("penalize: %v", err)
		}
	}
	penalize()
	if got := eff(); got != 5 {
		t.Fatalf("effective concurrency %d after one 615, want 5", got)
	}
	mustRefuse(t, ss[1], lim, quota.LimitBlocked, 2*time.Second)
	clk.Add(2 * time.Second)
	var leases []quota.Lease
	for range 5 {
		leases = append(leases, mustAdmit(t, ss[1], lim).Lease)
	}
	mustRefuse(t, ss[1], lim, quota.LimitConcurrency, time.Second)
	for range 9 { // the rest of 10 concurrent calls answered 615: one cut per window
		penalize()
	}
	if got := eff(); got != 5 {
		t.Fatalf("effective concurrency %d after more 615s in the same window, want 5 (one halving per window)", got)
	}
	clk.Add(20*time.Second - 2*time.Second - time.Microsecond) // still inside the window of the first cut
	penalize()
	if got := eff(); got != 5 {
		t.Fatalf("effective concurrency %d after a 615 just inside the window, want 5", got)
	}
	clk.Add(time.Microsecond) // a full window after the first cut
	penalize()
	if got := eff(); got != 2 {
		t.Fatalf("effective concurrency %d after a 615 one window later, want 2", got)
	}
	for _, l := range leases {
		mustRelease(t, ss[1], l)
	}
	clk.Add(2 * time.Second)
	mustRelease(t, ss[1], mustAdmit(t, ss[1], lim).Lease)
	steps := []struct {
		after time.Duration // since the last 615
		want  int
	}{
		{20*time.Second - time.Microsecond, 2},
		{20 * time.Second, 3},
		{60 * time.Second, 5},
		{160 * time.Second, 10},
		{1000 * time.Second, 10},
	}
	last := clk.Now().Add(-2 * time.Second)
	for _, st := range steps {
		clk.Set(last.Add(st.after))
		if got := eff(); got != st.want {
			t.Errorf("%s after the 615: effective %d, want %d", st.after, got, st.want)
		}
	}
	for range 5 { // never below one
		clk.Add(20 * time.Second)
		penalize()
	}
	if got := eff(); got != 1 {
		t.Errorf("effective %d after many 615s, want 1", got)
	}
}

func testHalt(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss := factory(t, storeOpts{Now: clk.Now, HaltPoll: 30 * time.Second}, 2)
	var lim quota.Limits
	if err := ss[0].Halt(context.Background(), sub, "603: access denied"); err != nil {
		t.Fatalf("halt: %v", err)
	}
	a := mustRefuse(t, ss[1], lim, quota.LimitHalted, 30*time.Second)
	if !strings.Contains(a.Reason, "603") {
		t.Errorf("reason %q does not name 603", a.Reason)
	}
	if snap := mustSnapshot(t, ss[1], lim); !snap.Halted || snap.HaltReason != "603: access denied" {
		t.Errorf("snapshot halted=%v %q", snap.Halted, snap.HaltReason)
	}
	if other, err := ss[1].Admit(context.Background(), "999-XYZ-999", lim); err != nil || !other.Allowed {
		t.Fatalf("another subscription must go on: %+v, %v", other, err)
	}
	if err := ss[1].Resume(context.Background(), sub); err != nil {
		t.Fatalf("resume: %v", err)
	}
	mustRelease(t, ss[0], mustAdmit(t, ss[0], lim).Lease)
	if snap := mustSnapshot(t, ss[1], lim); snap.Halted || snap.HaltReason != "" {
		t.Errorf("snapshot after resume: halted=%v %q", snap.Halted, snap.HaltReason)
	}
}

func testSnapshotReadOnly(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss := factory(t, storeOpts{Now: clk.Now}, 1)
	lim := quota.Limits{DailyQuota: 10, CallsPerWindow: 5, Window: time.Minute, MaxConcurrency: 3, LeaseTTL: time.Minute}
	a := mustAdmit(t, ss[0], lim)
	before := mustSnapshot(t, ss[0], lim)
	for range 3 {
		if got := mustSnapshot(t, ss[0], lim); !reflect.DeepEqual(got, before) {
			t.Fatalf("snapshot changed:\n%+v\n%+v", got, before)
		}
	}
	want := quota.Snapshot{
		Subscription: sub, QuotaUsed: 1, QuotaLimit: 10, ResetAt: chi(t, "2026-11-24 00:00"),
		CallsInWindow: 1, WindowLimit: 5, Window: time.Minute, Leases: 1, MaxConcurrency: 3,
		EffectiveConcurrency: 3, Now: clk.Now(),
	}
	if !before.ResetAt.Equal(want.ResetAt) || !before.Now.Equal(want.Now) {
		t.Fatalf("snapshot times %s %s, want %s %s", before.ResetAt, before.Now, want.ResetAt, want.Now)
	}
	before.ResetAt, before.Now = want.ResetAt, want.Now
	if !reflect.DeepEqual(before, want) {
		t.Errorf("snapshot\n got %+v\nwant %+v", before, want)
	}
	mustRelease(t, ss[0], a.Lease)
}

func testMarks(t *testing.T, factory newStores) {
	ss := factory(t, storeOpts{}, 2)
	ctx := context.Background()
	t1 := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
	marks := []struct {
		at   time.Time
		want time.Time
	}{
		{t1, t1},
		{t1.Add(-time.Hour), t1}, // an older success does not win
		{t1.Add(time.Minute), t1.Add(time.Minute)},
	}
	for _, m := range marks {
		if err := ss[0].MarkSuccess(ctx, sub, "L-1001", m.at); err != nil {
			t.Fatalf("mark: %v", err)
		}
		got, ok, err := ss[1].LastSuccess(ctx, sub, "L-1001")
		if err != nil || !ok || !got.Equal(m.want) {
			t.Fatalf("last success = %s, %v, %v; want %s", got, ok, err, m.want)
		}
	}
	if _, ok, err := ss[1].LastSuccess(ctx, sub, "L-404"); ok || err != nil {
		t.Errorf("unknown lead: ok=%v err=%v", ok, err)
	}
	if _, ok, _ := ss[1].LastSuccess(ctx, "999-XYZ-999", "L-1001"); ok {
		t.Errorf("mark leaked to another subscription")
	}
}

// Batched marks behave like single ones, in one step each way.
func testMarksBatched(t *testing.T, factory newStores) {
	ss := factory(t, storeOpts{}, 2)
	ctx := context.Background()
	t1 := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
	if err := ss[0].MarkSuccess(ctx, sub, "L-2", t1.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	leads := []string{"L-1", "L-2", "L-3"}
	if err := ss[0].MarkSuccesses(ctx, sub, leads[:2], []time.Time{t1, t1}); err != nil {
		t.Fatal(err)
	}
	got, err := ss[1].LastSuccesses(ctx, sub, leads)
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{t1, t1.Add(time.Hour), {}} // L-2 kept its later mark; L-3 has none
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("%s: %v, want %v", leads[i], got[i], want[i])
		}
	}
	if err := ss[0].MarkSuccesses(ctx, sub, leads, []time.Time{t1}); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if got, err := ss[1].LastSuccesses(ctx, sub, nil); err != nil || len(got) != 0 {
		t.Errorf("no leads: %v, %v", got, err)
	}
	if err := ss[0].MarkSuccesses(ctx, sub, nil, nil); err != nil {
		t.Errorf("no marks: %v", err)
	}
}

func testClaims(t *testing.T, factory newStores) {
	ss := factory(t, storeOpts{}, 2)
	ctx := context.Background()
	claim := func(s quota.Store, owner string, keys ...string) []bool {
		t.Helper()
		got, err := s.Claim(ctx, sub, owner, keys, time.Minute)
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		return got
	}
	steps := []struct {
		name  string
		s     quota.Store
		owner string
		keys  []string
		want  []bool
	}{
		{"A takes x and y", ss[0], "A", []string{"x@example.com", "y@example.com"}, []bool{true, true}},
		{"B cannot take y", ss[1], "B", []string{"y@example.com", "z@example.com"}, []bool{false, true}},
		{"A again holds y", ss[0], "A", []string{"y@example.com"}, []bool{true}},
		{"nothing", ss[0], "A", nil, []bool{}},
	}
	for _, st := range steps {
		if got := claim(st.s, st.owner, st.keys...); !reflect.DeepEqual(got, st.want) {
			t.Fatalf("%s: %v, want %v", st.name, got, st.want)
		}
	}
	if err := ss[0].Unclaim(ctx, sub, "A", []string{"x@example.com", "y@example.com", "z@example.com"}); err != nil {
		t.Fatalf("unclaim: %v", err)
	}
	if got := claim(ss[1], "B", "y@example.com", "z@example.com", "x@example.com"); !reflect.DeepEqual(got, []bool{true, true, true}) {
		t.Fatalf("after A unclaimed: %v (A's unclaim must not free B's z)", got)
	}
	if got := claim(ss[0], "A", "z@example.com"); !reflect.DeepEqual(got, []bool{false}) {
		t.Fatalf("A took B's z: %v", got)
	}
}

func testErrors(t *testing.T, factory newStores) {
	s := factory(t, storeOpts{}, 1)[0]
	ctx := context.Background()
	var limErr *quota.LimitsError
	tests := []struct {
		name    string
		err     error
		wantErr error // nil: a *LimitsError
	}{
		{"empty subscription", call(s.Admit(ctx, "", quota.Limits{})), quota.ErrInvalidSubscription},
		{"hash-tag brace", call(s.Snapshot(ctx, "a}b", quota.Limits{})), quota.ErrInvalidSubscription},
		{"unknown penalty", s.Penalize(ctx, sub, 601, quota.Limits{}), quota.ErrUnknownPenalty},
		{"negative quota", call(s.Admit(ctx, sub, quota.Limits{DailyQuota: -1})), nil},
		{"empty owner", call(s.Claim(ctx, sub, "", []string{"x"}, time.Minute)), nil},
	}
	for _, tc := range tests {
		if tc.wantErr == nil {
			if !errors.As(tc.err, &limErr) {
				t.Errorf("%s: %v, want *LimitsError", tc.name, tc.err)
			}
			continue
		}
		if !errors.Is(tc.err, tc.wantErr) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.wantErr)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := s.Admit(ctx, sub, quota.Limits{}); !errors.Is(err, quota.ErrClosed) {
		t.Errorf("admit after close: %v, want ErrClosed", err)
	}
}

func call[T any](_ T, err error) error { return err }
