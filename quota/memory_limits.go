package quota

import (
	"context"
	"fmt"
	"time"
)

// Release implements Store.
func (m *Memory) Release(_ context.Context, l Lease) error {
	s, _, err := m.lock(l.Subscription)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(s.leases, l.ID)
	return nil
}

// Renew implements Store.
func (m *Memory) Renew(_ context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if ttl < time.Millisecond {
		return l, &LimitsError{Field: "ttl", Reason: fmt.Sprintf("is under 1ms (%s)", ttl)}
	}
	s, t, err := m.lock(l.Subscription)
	if err != nil {
		return l, err
	}
	defer m.mu.Unlock()
	exp, ok := s.leases[l.ID]
	if !ok || !exp.After(t) {
		delete(s.leases, l.ID)
		return l, fmt.Errorf("quota: renew %s lease %s: %w", l.Subscription, l.ID, ErrLeaseLost)
	}
	l.Expires = t.Add(ttl)
	s.leases[l.ID] = l.Expires
	return l, nil
}

// Penalize implements Store.
func (m *Memory) Penalize(_ context.Context, sub string, code int, lim Limits) error {
	lim, err := lim.normalize()
	if err != nil {
		return err
	}
	p, err := penaltyFor(code, lim, m.tune.block615)
	if err != nil {
		return err
	}
	s, t, err := m.lock(sub)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	until := t.Add(p.block)
	if p.toReset {
		ds := chicagoDays(t)
		di, _ := ds.pick(t)
		until = ds[di+1]
		s.quota[ds[di].Unix()] = max(s.quota[ds[di].Unix()], lim.DailyQuota)
	}
	if !s.blockUntil.After(t) || s.blockUntil.Before(until) {
		s.blockUntil, s.blockWhy = until, p.reason
	}
	if p.halve { // once per window, as the Redis script
		eff := s.effective(lim, t, false)
		if s.effCut.IsZero() || t.Sub(s.effCut) >= lim.Window {
			eff, s.effCut = max(1, eff/2), t
		}
		s.eff, s.effAt = eff, t
	}
	return nil
}

// Halt implements Store.
func (m *Memory) Halt(_ context.Context, sub, reason string) error {
	s, _, err := m.lock(sub)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	s.halted, s.haltWhy = true, reason
	return nil
}

// Resume implements Store.
func (m *Memory) Resume(_ context.Context, sub string) error {
	s, _, err := m.lock(sub)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	s.halted, s.haltWhy = false, ""
	return nil
}

// Snapshot implements Store.
func (m *Memory) Snapshot(_ context.Context, sub string, lim Limits) (Snapshot, error) {
	lim, err := lim.normalize()
	if err != nil {
		return Snapshot{}, err
	}
	s, t, err := m.lock(sub)
	if err != nil {
		return Snapshot{}, err
	}
	defer m.mu.Unlock()
	ds := chicagoDays(t)
	di, _ := ds.pick(t)
	leases := 0
	for _, exp := range s.leases {
		if exp.After(t) {
			leases++
		}
	}
	snap := Snapshot{
		Subscription: sub,
		QuotaUsed:    s.quota[ds[di].Unix()], QuotaLimit: lim.DailyQuota, ResetAt: ds[di+1],
		CallsInWindow: s.countWindow(t, lim.Window), WindowLimit: lim.CallsPerWindow, Window: lim.Window,
		Leases: leases, MaxConcurrency: lim.MaxConcurrency,
		EffectiveConcurrency: s.effective(lim, t, false),
		Halted:               s.halted, HaltReason: s.haltWhy,
		Now: t,
	}
	if s.blockUntil.After(t) {
		snap.BlockedUntil, snap.BlockReason = s.blockUntil, s.blockWhy
	}
	s.epoch.snapshot(&snap)
	return snap, nil
}

// Close implements Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
