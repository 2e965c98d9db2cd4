package marketotest

import (
	"strconv"
	"time"
)

// limiterState is the subscription's usage, guarded by Sim.mu.
type limiterState struct {
	window   []time.Time // counted calls in the sliding window, oldest first
	day      string      // the quota day (Chicago date) of used
	used     int         // counted calls on that day
	inflight int
}

// admitLocked decides whether a REST call may run. Refused calls (606, 607,
// 615) count toward the window and the quota, as every call Marketo answers
// other than 601, 602, 604, 605, 608 and 611 does. An admitted call holds a
// concurrency slot until releaseLocked. With DisableLimits calls are counted, never refused.
func (s *Sim) admitLocked(c *callState) (code, msg string) {
	now := c.at
	l := s.opts.Limits
	s.rollDayLocked(now)
	s.pruneLocked(now)
	switch {
	case s.opts.DisableLimits:
	case s.lim.used >= l.DailyQuota:
		code, msg = "607", "Daily quota reached"
	case len(s.lim.window) >= l.CallsPerWindow:
		code, msg = "606", "Max rate limit '"+strconv.Itoa(l.CallsPerWindow)+"' exceeded with in '"+seconds(l.Window)+"' secs"
	case s.lim.inflight >= l.MaxConcurrency:
		code, msg = "615", "Concurrent access limit reached"
	}
	s.countLocked(now)
	if code != "" {
		return code, msg
	}
	s.take(c)
	return "", ""
}

func (s *Sim) take(c *callState) {
	s.lim.inflight++
	c.admitted = true
	c.inflight = s.lim.inflight
	s.counters.maxConcurrent = max(s.counters.maxConcurrent, s.lim.inflight)
}

func (s *Sim) countLocked(now time.Time) {
	s.lim.window = append(s.lim.window, now)
	s.lim.used++
}

// refundLocked takes back a call answered with a code that does not count.
func (s *Sim) refundLocked(c *callState) {
	for i := len(s.lim.window) - 1; i >= 0; i-- {
		if s.lim.window[i].Equal(c.at) {
			s.lim.window = append(s.lim.window[:i], s.lim.window[i+1:]...)
			break
		}
	}
	if s.quotaDay(c.at) == s.lim.day && s.lim.used > 0 {
		s.lim.used--
	}
}

func (s *Sim) releaseLocked(c *callState) {
	if c.admitted {
		s.lim.inflight--
		c.admitted = false
	}
}

func (s *Sim) pruneLocked(now time.Time) {
	cut := now.Add(-s.opts.Limits.Window)
	i := 0
	for i < len(s.lim.window) && !s.lim.window[i].After(cut) {
		i++
	}
	if i > 0 {
		s.lim.window = append(s.lim.window[:0], s.lim.window[i:]...)
	}
}

func (s *Sim) quotaDay(t time.Time) string { return t.In(s.loc).Format(time.DateOnly) }

func (s *Sim) rollDayLocked(now time.Time) {
	if d := s.quotaDay(now); d != s.lim.day {
		s.lim.day, s.lim.used = d, 0
	}
}

// QuotaUsed returns the calls counted against today's quota (the day of the
// injected clock, in America/Chicago).
func (s *Sim) QuotaUsed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollDayLocked(s.opts.Now())
	return s.lim.used
}

// ResetLimits forgets the window and the quota used (not the calls in flight).
func (s *Sim) ResetLimits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lim.window, s.lim.day, s.lim.used = nil, "", 0
}

func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.Itoa(int(d / time.Second))
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
