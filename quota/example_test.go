package quota_test

import (
	"context"
	"fmt"
	"time"

	"github.com/leadops/repost/quota"
)

// A refusal is a value: which limit, and how long to wait.
func ExampleMemory() {
	loc, _ := time.LoadLocation("America/Chicago")
	now := time.Date(2026, 11, 23, 23, 59, 0, 0, loc)
	store := quota.NewMemory(quota.MemoryOptions{Now: func() time.Time { return now }})
	defer store.Close()
	ctx := context.Background()
	lim := quota.Limits{DailyQuota: 1, CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 10}

	a, _ := store.Admit(ctx, "123-ABC-456", lim)
	fmt.Println(a.Allowed)
	_ = store.Release(ctx, a.Lease)

	a, _ = store.Admit(ctx, "123-ABC-456", lim)
	fmt.Println(a.Allowed, a.Limit, a.RetryAfter)

	now = now.Add(time.Minute) // 00:00 in Chicago: a new day
	a, _ = store.Admit(ctx, "123-ABC-456", lim)
	fmt.Println(a.Allowed)
	// Output:
	// true
	// false quota 1m0s
	// true
}
