package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/quota"
)

const otherSub = "987-XYZ-654"

// parkedMix parks a small incident: three groups on one subscription, one
// on another, and an event of a subscription missing from the config.
func parkedMix(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub, otherSub)
	at := func(min int) time.Time { return fixedNow.Add(-time.Duration(min) * time.Minute) }
	for i := 0; i < 4; i++ {
		h.park(fixture.Sub, i, "field-role", repost.ParkInfo{Code: "1006", Field: "role", Attempts: 1,
			Reason: "Field 'role' not found", ParkedAt: at(90 - 10*i)})
	}
	for i := 4; i < 6; i++ {
		h.park(fixture.Sub, i, "type-mismatch", repost.ParkInfo{Code: "1001", Field: "numberOfEmployees", Attempts: 1,
			Reason: "Invalid value 'fifty'. Required of type 'integer'", ParkedAt: at(120 - i)})
	}
	h.park(fixture.Sub, 6, "bad-status", repost.ParkInfo{Code: "1025", Field: "programStatus", Attempts: 1,
		Reason: "Program status not found", ParkedAt: at(30)})
	h.park(fixture.Sub, 7, "transient", repost.ParkInfo{Code: "retries-exhausted", Attempts: 10,
		Reason: "gave up after 10 attempts: the last one failed with 611 System error, which is transient but did not go away", ParkedAt: at(5)})
	h.park(otherSub, 8, "field-role", repost.ParkInfo{Code: "1006", Field: "role", Attempts: 1,
		Reason: "Field 'role' not found", ParkedAt: at(45)})
	h.park(fixture.Unknown, 9, "unknown-sub", repost.ParkInfo{Code: "unknown-subscription",
		Reason: "subscription 999-ZZZ-999 is not in the configuration", ParkedAt: at(15)})
	return h
}

func TestGoldenParkedTables(t *testing.T) {
	h := parkedMix(t)
	golden(t, "summary", h.mustRun("parked", "summary"))
	golden(t, "list", h.mustRun("parked", "list"))
	golden(t, "list-filtered", h.mustRun("parked", "list", "--code", "1006,1001", "--since", "100m", "--subscription", fixture.Sub))
	golden(t, "show", h.mustRun("parked", "show", fixture.ID(4)))

	// The same entry by sequence, and as JSON.
	bySeq := h.mustRun("parked", "show", "5")
	if bySeq != h.mustRun("parked", "show", fixture.ID(4)) {
		t.Errorf("show by sequence differs from show by eventId:\n%s", bySeq)
	}
	var shown struct {
		Seq   uint64          `json:"seq"`
		Entry json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("parked", "show", "5", "-o", "json")), &shown); err != nil {
		t.Fatal(err)
	}
	if p, err := repost.DecodeParkedLead(shown.Entry); err != nil || shown.Seq != 5 || p.EventID != fixture.ID(4) {
		t.Errorf("show -o json: seq %d, %v, %v", shown.Seq, p, err)
	}
	if _, _, err := h.run(context.Background(), "parked", "show", "evt-nope"); err == nil || exitCode(err, nopWriter{}) != 1 {
		t.Errorf("show of an unknown ID: %v, want exit 1", err)
	}

	var rows []listRow
	if err := json.Unmarshal([]byte(h.mustRun("parked", "list", "-o", "json", "--field", "ROLE")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0].Seq != 1 || rows[0].EventID != fixture.ID(0) || rows[4].Subscription != otherSub {
		t.Errorf("list -o json --field ROLE: %+v", rows)
	}
	_, stderr, err := h.run(context.Background(), "parked", "list", "--limit", "2")
	if err != nil || !strings.Contains(stderr, "showing the first 2") {
		t.Errorf("list --limit 2: %v, stderr %q", err, stderr)
	}
}

func TestGoldenLimits(t *testing.T) {
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub, otherSub)
	store := quota.NewMemory(quota.MemoryOptions{Now: func() time.Time { return fixedNow }})
	ctx := context.Background()
	// The first subscription sets no limits: the defaults, the share Marketo advises for one integration.
	limA := quota.Limits{DailyQuota: 10000, CallsPerWindow: 50, Window: 20 * time.Second, MaxConcurrency: 5, LeaseTTL: 2 * time.Minute}
	var first quota.Lease
	for i := 0; i < 3; i++ {
		a, err := store.Admit(ctx, fixture.Sub, limA)
		if err != nil || !a.Allowed {
			t.Fatalf("admit: %+v %v", a, err)
		}
		if i == 0 {
			first = a.Lease
		}
	}
	if err := store.Release(ctx, first); err != nil {
		t.Fatal(err)
	}
	limB := quota.Limits{DailyQuota: 10000, CallsPerWindow: 50, Window: 20 * time.Second, MaxConcurrency: 5, LeaseTTL: 2 * time.Minute}
	if err := store.Penalize(ctx, otherSub, 615, limB); err != nil {
		t.Fatal(err)
	}
	if err := store.Halt(ctx, otherSub, "identity answered 401: check the client secret"); err != nil {
		t.Fatal(err)
	}
	h.store = store
	golden(t, "limits", h.mustRun("limits"))

	var rows []limitsRow
	if err := json.Unmarshal([]byte(h.mustRun("limits", otherSub, "-o", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !rows[0].Halted || rows[0].QuotaLimit != 10000 || rows[0].EffectiveConcurrency >= 5 ||
		rows[0].Instance.MaxConcurrency != 10 || rows[0].Instance.DailyQuota != 50000 {
		t.Errorf("limits %s -o json: %+v", otherSub, rows)
	}
	if _, _, err := h.run(ctx, "limits", "000-NOT-CONF"); err == nil || exitCode(err, nopWriter{}) != 1 {
		t.Errorf("limits of an unconfigured subscription: %v, want exit 1", err)
	}
}

// Without Redis, limits says it cannot see repostd's in-process limits.
func TestLimitsWithoutRedisSaysSo(t *testing.T) {
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub)
	out, stderr, err := h.run(context.Background(), "limits")
	if err != nil || !strings.Contains(stderr, "no Redis configured") || !strings.Contains(out, "0 of 10,000") ||
		!strings.Contains(out, "rate 50%, concurrency 50%, day 20%") || !strings.Contains(out, "100 calls per 20s, 10 concurrent, 50,000 calls a day") {
		t.Errorf("limits without Redis: %v\nstdout %s\nstderr %s", err, out, stderr)
	}
}

func TestGoldenPolicy(t *testing.T) {
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub)
	golden(t, "policy", h.mustRun("policy"))
	golden(t, "policy-1004", h.mustRun("policy", "--code", "1004"))
	var got struct {
		MaxAttempts int `json:"maxAttempts"`
		Rows        []struct {
			Code       json.Number `json:"code"`
			Action     string      `json:"action"`
			Overridden bool        `json:"overridden"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("policy", "--code", "611", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.MaxAttempts != 7 || len(got.Rows) != 1 || got.Rows[0].Action != "park" || !got.Rows[0].Overridden {
		t.Errorf("policy --code 611 -o json: %+v", got)
	}
}
