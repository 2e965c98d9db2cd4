package quota_test

import (
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

var chicagoZone = func() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return loc
}()

// The quota day ends at 00:00 in Chicago, whatever the zone of t, and lasts
// 23 or 25 hours on the days daylight saving time begins or ends.
func TestNextReset(t *testing.T) {
	at := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, chicagoZone) }
	tests := []struct {
		name    string
		t       time.Time
		want    time.Time
		wantDay time.Duration // from the day's start to want
	}{
		{"noon", at(2026, 12, 2, 12, 0), at(2026, 12, 3, 0, 0), 24 * time.Hour},
		{"a minute before midnight", at(2026, 12, 2, 23, 59), at(2026, 12, 3, 0, 0), 24 * time.Hour},
		{"midnight starts a day", at(2026, 12, 3, 0, 0), at(2026, 12, 4, 0, 0), 24 * time.Hour},
		{"DST begins (23 h)", at(2026, 3, 8, 12, 0), at(2026, 3, 9, 0, 0), 23 * time.Hour},
		{"DST ends (25 h)", at(2026, 11, 1, 12, 0), at(2026, 11, 2, 0, 0), 25 * time.Hour},
		{"UTC instant, Chicago's evening", time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC), at(2026, 12, 3, 0, 0), 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := quota.NextReset(tt.t)
			if !got.Equal(tt.want) {
				t.Fatalf("NextReset(%s) = %s, want %s", tt.t, got, tt.want)
			}
			if !got.After(tt.t) {
				t.Errorf("reset %s not after %s", got, tt.t)
			}
			y, m, d := tt.t.In(chicagoZone).Date()
			if day := got.Sub(time.Date(y, m, d, 0, 0, 0, 0, chicagoZone)); day != tt.wantDay {
				t.Errorf("day lasts %s, want %s", day, tt.wantDay)
			}
		})
	}
}

// With the quota ample for the traffic, nothing waits: calls now and then,
// and a burst within the bucket.
func TestPacerAmpleQuotaDoesNotWait(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, chicagoZone)
	b := quota.Budget{Left: 10000, ResetAt: quota.NextReset(now)}
	var p quota.Pacer
	for i := range 100 { // the bucket: 10000/100
		if w := p.Wait(now, b); w != 0 {
			t.Fatalf("call %d of a burst within the bucket waits %s", i, w)
		}
		p.Spend(now, b)
		b.Left--
	}
	if w := p.Wait(now, b); w == 0 {
		t.Fatal("a call beyond the bucket at the same instant does not wait")
	}
	// One call a minute spends 960 of 9900 by midnight: never waits.
	for i := range 16 * 60 {
		now = now.Add(time.Minute)
		if w := p.Wait(now, b); w != 0 && i > 0 {
			t.Fatalf("a call a minute waits %s at %s", w, now)
		}
		p.Spend(now, b)
		b.Left--
	}
}

// Calls wanted every half second for a whole day get at most the quota, the
// last of them just before the reset, on a day of 24, 23 and 25 hours; the
// pace is what is left over the time to the reset.
func TestPacerSpreadsTheQuotaOverTheDay(t *testing.T) {
	for _, day := range []time.Time{
		time.Date(2026, 12, 2, 0, 0, 0, 0, chicagoZone),
		time.Date(2026, 3, 8, 0, 0, 0, 0, chicagoZone),
		time.Date(2026, 11, 1, 0, 0, 0, 0, chicagoZone),
	} {
		t.Run(day.Format("2006-01-02"), func(t *testing.T) {
			const quotaPerDay = 5000
			reset := quota.NextReset(day)
			b := quota.Budget{Left: quotaPerDay, ResetAt: reset}
			var p quota.Pacer
			calls, last := 0, time.Time{}
			for now := day; now.Before(reset); now = now.Add(500 * time.Millisecond) {
				if p.Wait(now, b) > 0 {
					continue
				}
				if b.Left == 0 {
					t.Fatalf("a call at %s, %s before the reset, with the quota spent (607)", now, reset.Sub(now))
				}
				p.Spend(now, b)
				b.Left--
				calls++
				last = now
			}
			if calls > quotaPerDay {
				t.Fatalf("%d calls, quota %d", calls, quotaPerDay)
			}
			if calls < quotaPerDay*98/100 {
				t.Errorf("%d calls of %d: the pace leaves the quota unused", calls, quotaPerDay)
			}
			if reset.Sub(last) > time.Hour {
				t.Errorf("last call %s before the reset: the pace ran ahead", reset.Sub(last))
			}
		})
	}
}

// Replicas sharing the subscription share the rate; nothing left, or a
// reset passed, leaves pacing to the limiter; no wait reaches past the reset.
func TestPacerEdges(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, chicagoZone)
	reset := quota.NextReset(now) // 12 h
	drain := func(p *quota.Pacer, b quota.Budget, now time.Time) {
		for p.Wait(now, b) == 0 {
			p.Spend(now, b)
		}
	}
	one := quota.Budget{Left: 4320, ResetAt: reset}
	var p1 quota.Pacer
	drain(&p1, one, now)
	three := one
	three.Shares = 3
	var p3 quota.Pacer
	drain(&p3, three, now)
	w1, w3 := p1.Wait(now, one), p3.Wait(now, three)
	if w1 < 9*time.Second || w1 > 10*time.Second { // 12 h / 4320 = 10 s, less what the last token had
		t.Errorf("one replica waits %s, want about 10s", w1)
	}
	if w3 < 3*w1-time.Second {
		t.Errorf("each of 3 replicas waits %s, want about 3×%s", w3, w1)
	}
	if w := p1.Wait(now, quota.Budget{Left: 0, ResetAt: reset}); w != reset.Sub(now) {
		t.Errorf("nothing left: waits %s, want the reset's %s", w, reset.Sub(now))
	}
	if w := p1.Wait(reset.Add(time.Second), one); w != 0 {
		t.Errorf("after the reset: waits %s, want 0", w)
	}
	late := reset.Add(-time.Second)
	tight := quota.Budget{Left: 1, ResetAt: reset}
	var p quota.Pacer
	drain(&p, tight, late.Add(-time.Millisecond))
	if w := p.Wait(late, tight); w == 0 || w > time.Second {
		t.Errorf("waits %s a second before the reset, want (0, 1s]", w)
	}
}
