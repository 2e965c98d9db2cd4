package quota

import (
	"context"
	"sync"
	"time"
)

// The limits an Admission may name after the state was lost.
const (
	// LimitLost: the subscription's state was found lost (its epoch went
	// missing in Redis); admissions are held for one window, the one the
	// caller passes (the worker's is guarded), so that every call admitted
	// before the loss has left Marketo's window. RetryAfter is the hold's end.
	LimitLost Limit = "lost"
	// LimitRestore: the hold is over and the day's count waits to be
	// restored: call Restore (one replica reads Marketo's usage, the others
	// wait RetryAfter).
	LimitRestore Limit = "restore"
	// limitRestored answers a reading admission when nothing waits.
	limitRestored Limit = "restored"
)

// UsageReader reads the day's calls at Marketo (GET stats/usage.json), one
// call admitted by Restore; source says which figure it is ("marketo usage,
// API user x").
type UsageReader func(ctx context.Context) (count int, source string, err error)

// Restored answers Restore.
type Restored struct {
	// Done: this call restored the day's count to Count (the larger of the
	// count kept since the loss and Marketo's), read from Source.
	Done   bool
	Count  int
	Source string
	// ReadErr: Marketo could not be asked; Count is the worst case the
	// limits allow (a full window in every window since 00:00 Chicago, at
	// most the daily quota).
	ReadErr error
	// RetryAfter: not done by this call (still held, another replica
	// reads, or nothing to restore when zero); admit again after it.
	RetryAfter time.Duration
}

// SourceWorstCase is the Source of a count restored without Marketo.
const SourceWorstCase = "worst case (Marketo's usage could not be read)"

// epochs is what a store instance (one replica) knows of each
// subscription's epoch: a replica that never saw one cannot tell a lost
// state from a new subscription.
type epochs struct {
	mu sync.Mutex
	m  map[string]string
}

func (e *epochs) get(sub string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[sub]
}

func (e *epochs) set(sub, id string) {
	if id == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]string{}
	}
	e.m[sub] = id
}

// Restore restores the day's count after a loss, once the hold is over:
// it admits one call for read (window, quota and concurrency count it),
// reads, and resumes the day from the larger count. Only one replica reads
// at a time; a reader that dies leaves it to another after the lease TTL.
func (r *Redis) Restore(ctx context.Context, sub string, lim Limits, read UsageReader) (Restored, error) {
	a, err := r.admit(ctx, sub, lim, true)
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
	if rerr != nil {
		count, source = -1, SourceWorstCase
	}
	lim, _ = lim.normalize()
	args, ds := r.clock()
	args = append(args, a.Lease.ID, count, source, lim.DailyQuota, lim.CallsPerWindow, us(lim.Window))
	ks := limitKeys(sub, ds)
	keys := []string{epochKey(sub), ks[1], ks[5], ks[6], ks[7]}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	res, err := restoreScript.Run(fctx, r.c, keys, args...).Slice()
	if err != nil {
		return Restored{}, unavailable("restore", sub, err)
	}
	rep := reply(res)
	if err := rep.check(4); err != nil {
		return Restored{}, unavailable("restore", sub, err)
	}
	if rep.int(0) != 1 { // another replica took over (this one was too slow)
		return Restored{RetryAfter: r.tune.concPoll}, nil
	}
	return Restored{Done: true, Count: int(rep.int(2)), Source: rep.str(3), ReadErr: rerr}, nil
}

// worstCase is the most calls the limits let through from the day's start
// to t: a full window in every window begun, at most the daily quota.
func worstCase(lim Limits, dayStart, t time.Time) int {
	windows := (t.Sub(dayStart) + lim.Window - 1) / lim.Window
	return int(min(int64(lim.DailyQuota), int64(lim.CallsPerWindow)*int64(windows)))
}
