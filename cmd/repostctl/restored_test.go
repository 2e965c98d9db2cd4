package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/quota"
)

// After the state was lost in Redis, limits shows the day's count it was
// restored to and where that figure came from.
func TestLimitsShowsTheRestoredCount(t *testing.T) {
	r := testenv.StartRedis(t)
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub)
	h.env["REPOST_REDIS_URL"] = r.URL()
	c := r.Client(t)
	store := quota.NewRedis(c, quota.RedisOptions{})
	ctx := context.Background()
	lim := quota.Limits{Window: 50 * time.Millisecond}
	if a, err := store.Admit(ctx, fixture.Sub, lim); err != nil || !a.Allowed {
		t.Fatalf("admit: %+v %v", a, err)
	}
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if a, err := store.Admit(ctx, fixture.Sub, lim); err != nil || !a.StateLost {
		t.Fatalf("admit after the loss: %+v %v, want the loss found", a, err)
	}
	if out := h.mustRun("limits"); !strings.Contains(out, fixture.Sub+": limits state lost in Redis at ") ||
		!strings.Contains(out, "calls held until the day's count is restored") {
		t.Errorf("limits while restoring:\n%s", out)
	}
	const from = "marketo usage 2026-12-02 (API user apiuser@sim.marketo.test)"
	testenv.CheckFor(t, 5*time.Second, func() error {
		res, err := store.Restore(ctx, fixture.Sub, lim, func(context.Context) (int, string, error) { return 4321, from, nil })
		if err != nil || !res.Done {
			return errors.New("not restored yet")
		}
		return nil
	})
	out := h.mustRun("limits")
	if !strings.Contains(out, "day's count restored to 4,321 from "+from+" at ") || !strings.Contains(out, "4,321 of ") {
		t.Errorf("limits after the restore:\n%s", out)
	}
	var rows []limitsRow
	if err := json.Unmarshal([]byte(h.mustRun("limits", "-o", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].RestoredCount != 4321 || rows[0].RestoredFrom != from || rows[0].Restoring ||
		rows[0].LostAt.IsZero() || rows[0].RestoredAt.Before(rows[0].LostAt) || rows[0].QuotaUsed != 4321 {
		t.Errorf("limits -o json: %+v", rows)
	}
}
