package quota

import (
	"context"
	"fmt"
	"time"
)

// MarkSuccess implements Store.
func (m *Memory) MarkSuccess(_ context.Context, sub, leadID string, at time.Time) error {
	_, t, err := m.lock(sub)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	k := markKey(sub, leadID)
	at = micro(at)
	cur, ok := m.marks[k]
	if !ok || !cur.exp.After(t) || cur.v.Before(at) {
		m.marks[k] = expiring[time.Time]{v: at, exp: t.Add(m.tune.successTTL)}
	}
	if !ok {
		m.order = append(m.order, k)
		m.forgetOldestMarks()
	}
	m.maybeSweep(t)
	return nil
}

// forgetOldestMarks keeps at most m.max marks, forgetting the oldest first.
func (m *Memory) forgetOldestMarks() {
	for len(m.marks) > m.max && len(m.order) > 0 {
		delete(m.marks, m.order[0])
		m.order = m.order[1:]
	}
	if len(m.order) > 2*m.max+1024 { // keys swept by their TTL linger here: compact
		kept := m.order[:0]
		for _, k := range m.order {
			if _, ok := m.marks[k]; ok {
				kept = append(kept, k)
			}
		}
		m.order = append([]string(nil), kept...)
	}
}

// MarkSuccesses implements Store.
func (m *Memory) MarkSuccesses(ctx context.Context, sub string, leadIDs []string, at []time.Time) error {
	if len(leadIDs) != len(at) {
		return fmt.Errorf("quota: %d leads, %d times", len(leadIDs), len(at))
	}
	for i, id := range leadIDs {
		if err := m.MarkSuccess(ctx, sub, id, at[i]); err != nil {
			return err
		}
	}
	return nil
}

// LastSuccesses implements Store.
func (m *Memory) LastSuccesses(ctx context.Context, sub string, leadIDs []string) ([]time.Time, error) {
	out := make([]time.Time, len(leadIDs))
	for i, id := range leadIDs {
		t, ok, err := m.LastSuccess(ctx, sub, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = t
		}
	}
	return out, nil
}

// LastSuccess implements Store.
func (m *Memory) LastSuccess(_ context.Context, sub, leadID string) (time.Time, bool, error) {
	_, t, err := m.lock(sub)
	if err != nil {
		return time.Time{}, false, err
	}
	defer m.mu.Unlock()
	cur, ok := m.marks[markKey(sub, leadID)]
	if !ok || !cur.exp.After(t) {
		return time.Time{}, false, nil
	}
	return cur.v, true, nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, sub, owner string, keys []string, ttl time.Duration) ([]bool, error) {
	if err := checkClaim(owner, ttl); err != nil {
		return nil, err
	}
	_, t, err := m.lock(sub)
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make([]bool, len(keys))
	for i, v := range keys {
		k := claimKey(sub, v)
		cur, ok := m.claims[k]
		if ok && cur.exp.After(t) && cur.v != owner {
			continue
		}
		m.claims[k] = expiring[string]{v: owner, exp: t.Add(ttl)}
		out[i] = true
	}
	m.maybeSweep(t)
	return out, nil
}

// Unclaim implements Store.
func (m *Memory) Unclaim(_ context.Context, sub, owner string, keys []string) error {
	_, t, err := m.lock(sub)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	for _, v := range keys {
		k := claimKey(sub, v)
		if cur, ok := m.claims[k]; ok && cur.v == owner && cur.exp.After(t) {
			delete(m.claims, k)
		}
	}
	return nil
}

// maybeSweep drops expired marks and claims once the maps doubled since the
// last sweep, so memory stays bounded by what is live.
func (m *Memory) maybeSweep(t time.Time) {
	if len(m.marks)+len(m.claims) < m.sweep {
		return
	}
	for k, v := range m.marks {
		if !v.exp.After(t) {
			delete(m.marks, k)
		}
	}
	for k, v := range m.claims {
		if !v.exp.After(t) {
			delete(m.claims, k)
		}
	}
	m.sweep = max(1024, 2*(len(m.marks)+len(m.claims)))
}
