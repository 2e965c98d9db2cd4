package quota

import (
	"context"
	"time"

	"github.com/leadops/repost/internal/randid"
)

// memEpoch mirrors the Redis epoch hash of a subscription.
type memEpoch struct {
	id         string
	lost       bool
	lostAt     time.Time
	hold       time.Time
	pending    bool
	reader     string
	readerExp  time.Time
	count      int
	source     string
	restoredAt time.Time
}

// checkEpoch is the epoch step of the admission script: it creates the
// epoch, finds a loss, and refuses while the hold or the restore waits.
// refused is false when the admission goes on to the limits.
func (m *Memory) checkEpoch(sub string, s *memSub, t time.Time, lim Limits, reading bool) (a Admission, refused bool) {
	known := m.epochs.get(sub)
	e := &s.epoch
	detected := false
	lose := func() {
		*e = memEpoch{id: e.id, lost: true, lostAt: t, hold: t.Add(lim.Window), pending: true}
		detected = true
	}
	if e.id == "" {
		e.id = randid.Hex(12)
		if known != "" {
			lose()
		}
	} else if known != "" && e.id != known && !e.lost {
		lose()
	}
	m.epochs.set(sub, e.id)
	deny := func(l Limit, retry time.Duration, detail string) (Admission, bool) {
		return Admission{Limit: l, RetryAfter: retry, At: t, StateLost: detected, Reason: refusal(l, detail, lim, retry)}, true
	}
	switch {
	case s.halted:
		return deny(LimitHalted, m.tune.haltPoll, s.haltWhy)
	case s.blockUntil.After(t):
		return deny(LimitBlocked, s.blockUntil.Sub(t), s.blockWhy)
	case e.pending && t.Before(e.hold):
		return deny(LimitLost, e.hold.Sub(t), "limits state lost; holding admissions one window")
	case e.pending && !reading:
		return deny(LimitRestore, m.tune.concPoll, "the day's count waits to be restored")
	case e.pending && e.readerExp.After(t):
		return deny(LimitRestore, min(e.readerExp.Sub(t), m.tune.concPoll), "another replica reads the usage")
	case !e.pending && reading:
		return deny(limitRestored, 0, "")
	}
	return Admission{StateLost: detected}, false
}

// Restore implements Store.
func (m *Memory) Restore(ctx context.Context, sub string, lim Limits, read UsageReader) (Restored, error) {
	a, err := m.admit(sub, lim, true)
	if err != nil {
		return Restored{}, err
	}
	if !a.Allowed {
		if a.Limit == limitRestored {
			return Restored{}, nil
		}
		return Restored{RetryAfter: a.RetryAfter}, nil
	}
	count, source, rerr := read(ctx)
	lim, _ = lim.normalize()
	s, t, err := m.lock(sub)
	if err != nil {
		return Restored{}, err
	}
	defer m.mu.Unlock()
	delete(s.leases, a.Lease.ID)
	e := &s.epoch
	if !e.pending || e.reader != a.Lease.ID {
		return Restored{RetryAfter: m.tune.concPoll}, nil
	}
	ds := chicagoDays(t)
	di, _ := ds.pick(t)
	if rerr != nil {
		count, source = worstCase(lim, ds[di], t), SourceWorstCase
	}
	day := ds[di].Unix()
	n := max(s.quota[day], count)
	s.quota[day] = n
	e.pending, e.reader, e.readerExp = false, "", time.Time{}
	e.count, e.source, e.restoredAt = n, source, t
	return Restored{Done: true, Count: n, Source: source, ReadErr: rerr}, nil
}

func (e memEpoch) snapshot(s *Snapshot) {
	s.LostAt, s.Restoring = e.lostAt, e.pending
	if e.lost && !e.pending {
		s.RestoredCount, s.RestoredFrom, s.RestoredAt = e.count, e.source, e.restoredAt
	}
}
