package quota

import (
	"context"
	"sort"
	"strconv"
	"time"
)

// uncounted are the answer codes Marketo counts against neither the
// window nor the daily quota (FACTS.md: "Calls answered 601, 602, 604, 605,
// 608, 611 do not count against quota or rate").
var uncounted = map[int]bool{601: true, 602: true, 604: true, 605: true, 608: true, 611: true}

// Uncounted reports whether Marketo counts a call answered code against
// neither the window nor the daily quota: its lease is refunded (Refund)
// rather than released.
func Uncounted(code int) bool { return uncounted[code] }

// Refund implements Store: one EVALSHA on the lease, the window and the
// admission's day.
func (r *Redis) Refund(ctx context.Context, l Lease) error {
	if err := r.begin(l.Subscription); err != nil {
		return err
	}
	sub := l.Subscription
	keys := []string{key(sub, "leases"), key(sub, "window"), quotaDayKey(sub, l)}
	member := strconv.FormatInt(l.At.UnixMicro(), 10) + ":" + l.ID
	if err := refundScript.Run(ctx, r.c, keys, l.ID, member).Err(); err != nil {
		return unavailable("refund", sub, err)
	}
	return nil
}

// quotaDayKey is the quota counter of the Chicago day l was admitted on.
func quotaDayKey(sub string, l Lease) string {
	return key(sub, "quota:"+strconv.FormatInt(chicagoDays(l.At)[1].Unix(), 10))
}

// Refund implements Store.
func (m *Memory) Refund(_ context.Context, l Lease) error {
	s, _, err := m.lock(l.Subscription)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, held := s.leases[l.ID]; !held {
		return nil
	}
	delete(s.leases, l.ID)
	for i, w := range s.window {
		if w.id == l.ID {
			s.window = append(s.window[:i], s.window[i+1:]...)
			break
		}
	}
	if day := chicagoDays(l.At)[1].Unix(); s.quota[day] > 0 {
		s.quota[day]--
	}
	return nil
}

// Answered implements Store: one EVALSHA on the lease and the window.
func (r *Redis) Answered(ctx context.Context, l Lease, lim Limits, guard time.Duration) error {
	if err := r.begin(l.Subscription); err != nil {
		return err
	}
	lim, err := lim.normalize()
	if err != nil {
		return err
	}
	sub := l.Subscription
	args, _ := r.clock()
	keys := []string{key(sub, "leases"), key(sub, "window")}
	member := strconv.FormatInt(l.At.UnixMicro(), 10) + ":" + l.ID
	live := (lim.Window - guard + time.Second).Milliseconds() // the moved place's end, and a second
	if err := answeredScript.Run(ctx, r.c, keys, args[0], l.ID, member, us(guard), live).Err(); err != nil {
		return unavailable("release", sub, err)
	}
	return nil
}

// Answered implements Store.
func (m *Memory) Answered(_ context.Context, l Lease, lim Limits, guard time.Duration) error {
	if _, err := lim.normalize(); err != nil {
		return err
	}
	s, t, err := m.lock(l.Subscription)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, held := s.leases[l.ID]; !held {
		return nil
	}
	delete(s.leases, l.ID)
	at := t.Add(-guard)
	for i, w := range s.window {
		if w.id == l.ID {
			s.window[i].at = at
			sort.SliceStable(s.window, func(i, j int) bool { return s.window[i].at.Before(s.window[j].at) })
			break
		}
	}
	return nil
}
