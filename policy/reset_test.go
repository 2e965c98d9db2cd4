package policy_test

import (
	"testing"
	"time"

	"github.com/leadops/repost/policy"
)

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// Test607Reset checks the wait of a 607 on ordinary days and on both sides
// of the 2026 DST changes in Chicago (Mar 8: 02:00 CST → 03:00 CDT, a 23 h
// day; Nov 1: 02:00 CDT → 01:00 CST, a 25 h day).
func Test607Reset(t *testing.T) {
	tests := []struct {
		name, now, want string
		wantDelay       time.Duration
	}{
		{"ordinary winter morning, UTC input", "2026-11-23T10:00:00Z", "2026-11-24T00:00:00-06:00", 20 * time.Hour},
		{"ordinary summer, one second before midnight", "2026-07-15T23:59:59-05:00", "2026-07-16T00:00:00-05:00", time.Second},
		{"exactly midnight waits for the next one", "2026-07-16T00:00:00-05:00", "2026-07-17T00:00:00-05:00", 24 * time.Hour},
		{"UTC date already tomorrow, Chicago still today", "2026-01-15T05:30:00Z", "2026-01-15T00:00:00-06:00", 30 * time.Minute},
		{"new year", "2026-12-31T23:00:00-06:00", "2027-01-01T00:00:00-06:00", time.Hour},
		// Spring forward, Sunday 2026-03-08.
		{"eve of spring forward", "2026-03-07T23:30:00-06:00", "2026-03-08T00:00:00-06:00", 30 * time.Minute},
		{"spring forward, midnight CST", "2026-03-08T00:00:00-06:00", "2026-03-09T00:00:00-05:00", 23 * time.Hour},
		{"spring forward, 01:59 CST", "2026-03-08T01:59:00-06:00", "2026-03-09T00:00:00-05:00", 21*time.Hour + time.Minute},
		{"spring forward, 03:00 CDT", "2026-03-08T03:00:00-05:00", "2026-03-09T00:00:00-05:00", 21 * time.Hour},
		{"spring forward, noon CDT", "2026-03-08T12:00:00-05:00", "2026-03-09T00:00:00-05:00", 12 * time.Hour},
		{"day after spring forward", "2026-03-09T12:00:00-05:00", "2026-03-10T00:00:00-05:00", 12 * time.Hour},
		// Fall back, Sunday 2026-11-01.
		{"eve of fall back", "2026-10-31T23:30:00-05:00", "2026-11-01T00:00:00-05:00", 30 * time.Minute},
		{"fall back, midnight CDT", "2026-11-01T00:00:00-05:00", "2026-11-02T00:00:00-06:00", 25 * time.Hour},
		{"fall back, first 01:30 (CDT)", "2026-11-01T01:30:00-05:00", "2026-11-02T00:00:00-06:00", 23*time.Hour + 30*time.Minute},
		{"fall back, second 01:30 (CST)", "2026-11-01T01:30:00-06:00", "2026-11-02T00:00:00-06:00", 22*time.Hour + 30*time.Minute},
		{"fall back, noon CST", "2026-11-01T12:00:00-06:00", "2026-11-02T00:00:00-06:00", 12 * time.Hour},
		{"day after fall back", "2026-11-02T12:00:00-06:00", "2026-11-03T00:00:00-06:00", 12 * time.Hour},
	}
	e := mustPolicy(t, policy.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now, want := mustTime(t, tt.now), mustTime(t, tt.want)
			d := e.Decide(policy.Input{Code: "607", Message: "Daily quota reached", Attempts: 4, Now: now})
			if d.Action != policy.ActionThrottle || d.Attempt {
				t.Fatalf("action %s attempt %v, want throttle, not an attempt", d.Action, d.Attempt)
			}
			if !d.Until.Equal(want) {
				t.Errorf("Until = %v, want %v", d.Until, want)
			}
			if d.Delay != tt.wantDelay {
				t.Errorf("Delay = %v, want %v", d.Delay, tt.wantDelay)
			}
			if got := policy.NextQuotaReset(now); !got.Equal(want) {
				t.Errorf("NextQuotaReset = %v, want %v", got, want)
			}
			if loc := d.Until.Location().String(); loc != policy.QuotaZone {
				t.Errorf("Until in %s, want %s", loc, policy.QuotaZone)
			}
		})
	}
}
