package quota

import (
	"context"
	"fmt"
	"time"
)

// MarkSuccess implements Store.
func (m *Memory) MarkSuccess(ctx context.Context, sub, leadID string, at time.Time) error {
	return m.MarkSuccesses(ctx, sub, []string{leadID}, []time.Time{at})
}

// memKey keys the in-process marks and claims: the subscription and the
// lead ID or lookup value (no hashing: nothing leaves the process).
type memKey struct{ sub, id string }

func (m *Memory) markLocked(sub, leadID string, at, t time.Time) {
	k := memKey{sub, leadID}
	at = micro(at)
	cur, ok := m.marks[k]
	if !ok || !cur.exp.After(t) || cur.v.Before(at) {
		m.marks[k] = expiring[time.Time]{v: at, exp: t.Add(m.tune.successTTL)}
	}
	if !ok {
		m.order = append(m.order, k)
		m.forgetOldestMarks()
	}
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
		m.order = append([]memKey(nil), kept...)
	}
}

// MarkSuccesses implements Store.
func (m *Memory) MarkSuccesses(_ context.Context, sub string, leadIDs []string, at []time.Time) error {
	if len(leadIDs) != len(at) {
		return fmt.Errorf("quota: %d leads, %d times", len(leadIDs), len(at))
	}
	_, t, err := m.lock(sub)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	for i, id := range leadIDs {
		m.markLocked(sub, id, at[i], t)
	}
	m.maybeSweep(t)
	return nil
}

// LastSuccesses implements Store.
func (m *Memory) LastSuccesses(_ context.Context, sub string, leadIDs []string) ([]time.Time, error) {
	_, t, err := m.lock(sub)
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make([]time.Time, len(leadIDs))
	for i, id := range leadIDs {
		out[i] = m.lastLocked(sub, id, t)
	}
	return out, nil
}

// LastSuccess implements Store.
func (m *Memory) LastSuccess(ctx context.Context, sub, leadID string) (time.Time, bool, error) {
	last, err := m.LastSuccesses(ctx, sub, []string{leadID})
	if err != nil {
		return time.Time{}, false, err
	}
	return last[0], !last[0].IsZero(), nil
}

func (m *Memory) lastLocked(sub, leadID string, t time.Time) time.Time {
	cur, ok := m.marks[memKey{sub, leadID}]
	if !ok || !cur.exp.After(t) {
		return time.Time{}
	}
	return cur.v
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
		k := memKey{sub, v}
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

// RenewClaims implements Store: a Memory store is never lost on its own,
// so a renewal is a claim.
func (m *Memory) RenewClaims(ctx context.Context, sub, owner string, keys []string, ttl time.Duration) ([]bool, error) {
	return m.Claim(ctx, sub, owner, keys, ttl)
}

// Unclaim implements Store.
func (m *Memory) Unclaim(_ context.Context, sub, owner string, keys []string) error {
	_, t, err := m.lock(sub)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	for _, v := range keys {
		k := memKey{sub, v}
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
