package main

import (
	"testing"
	"time"

	"github.com/leadops/repost/worker"
)

// The expiry loop scans well inside the margin: once a minute for the
// default day, a sixth of a short margin (never under a second).
func TestExpireScan(t *testing.T) {
	for _, tc := range []struct{ margin, want time.Duration }{
		{24 * time.Hour, worker.DefaultExpireScan},
		{6 * time.Minute, time.Minute},
		{15 * time.Second, 2500 * time.Millisecond},
		{3 * time.Second, time.Second},
	} {
		if got := expireScan(tc.margin); got != tc.want {
			t.Errorf("expireScan(%s) = %s, want %s", tc.margin, got, tc.want)
		}
	}
}
