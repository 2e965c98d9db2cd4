package quota

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Penalize implements Store: one EVALSHA.
func (r *Redis) Penalize(ctx context.Context, sub string, code int, lim Limits) error {
	if err := r.begin(sub); err != nil {
		return err
	}
	lim, err := lim.normalize()
	if err != nil {
		return err
	}
	p, err := penaltyFor(code, lim, r.tune.block615)
	if err != nil {
		return err
	}
	length := us(p.block)
	if p.toReset {
		length = 0
	}
	halve := 0
	if p.halve {
		halve = 1
	}
	args, ds := r.clock()
	args = append(args, length, halve, p.reason, lim.DailyQuota, us(lim.Window), lim.MaxConcurrency)
	ks := limitKeys(sub, ds)
	keys := []string{ks[2], ks[3], ks[5], ks[6], ks[7]}
	res, err := penalizeScript.Run(ctx, r.c, keys, args...).Slice()
	if err != nil {
		return unavailable("penalize", sub, err)
	}
	if err := reply(res).check(2); err != nil {
		return unavailable("penalize", sub, err)
	}
	return nil
}

// Halt implements Store.
func (r *Redis) Halt(ctx context.Context, sub, reason string) error {
	if err := r.begin(sub); err != nil {
		return err
	}
	if err := r.c.HSet(ctx, key(sub, "halt"), "reason", reason).Err(); err != nil {
		return unavailable("halt", sub, err)
	}
	return nil
}

// Resume implements Store.
func (r *Redis) Resume(ctx context.Context, sub string) error {
	if err := r.begin(sub); err != nil {
		return err
	}
	if err := r.c.Del(ctx, key(sub, "halt")).Err(); err != nil {
		return unavailable("resume", sub, err)
	}
	return nil
}

// Snapshot implements Store: one EVALSHA that writes nothing.
func (r *Redis) Snapshot(ctx context.Context, sub string, lim Limits) (Snapshot, error) {
	if err := r.begin(sub); err != nil {
		return Snapshot{}, err
	}
	lim, err := lim.normalize()
	if err != nil {
		return Snapshot{}, err
	}
	args, ds := r.clock()
	args = append(args, us(lim.Window), lim.MaxConcurrency)
	res, err := snapshotScript.Run(ctx, r.c, limitKeys(sub, ds), args...).Slice()
	if err != nil {
		return Snapshot{}, unavailable("snapshot", sub, err)
	}
	rep := reply(res)
	if err := rep.check(17); err != nil {
		return Snapshot{}, unavailable("snapshot", sub, err)
	}
	// A replica that has only read the state knows its epoch too, so that
	// its claims can tell a loss (claimScript) before it sends a call.
	r.epochs.set(sub, rep.str(16))
	s := Snapshot{
		Subscription: sub,
		QuotaUsed:    int(rep.int(2)), QuotaLimit: lim.DailyQuota,
		ResetAt:       fromMicros(rep.int(3)),
		CallsInWindow: int(rep.int(4)), WindowLimit: lim.CallsPerWindow, Window: lim.Window,
		Leases: int(rep.int(5)), MaxConcurrency: lim.MaxConcurrency,
		EffectiveConcurrency: int(rep.int(6)),
		BlockReason:          rep.str(8),
		Halted:               rep.int(9) == 1, HaltReason: rep.str(10),
		Now: fromMicros(rep.int(1)),
	}
	if u := rep.int(7); u > 0 {
		s.BlockedUntil = fromMicros(u)
	}
	s.Restoring = rep.str(11) == "pending"
	if at := rep.int(12); at > 0 {
		s.LostAt = fromMicros(at)
	}
	if rep.str(11) == "done" {
		s.RestoredCount, s.RestoredFrom, s.RestoredAt = int(rep.int(13)), rep.str(14), fromMicros(rep.int(15))
	}
	return s, nil
}

// MarkSuccess implements Store.
func (r *Redis) MarkSuccess(ctx context.Context, sub, leadID string, at time.Time) error {
	if err := r.begin(sub); err != nil {
		return err
	}
	keys := []string{markKey(sub, leadID)}
	err := markScript.Run(ctx, r.c, keys, at.UnixMicro(), r.tune.successTTL.Milliseconds()).Err()
	if err != nil {
		return unavailable("mark success", sub, err)
	}
	return nil
}

// LastSuccess implements Store.
func (r *Redis) LastSuccess(ctx context.Context, sub, leadID string) (time.Time, bool, error) {
	if err := r.begin(sub); err != nil {
		return time.Time{}, false, err
	}
	v, err := r.c.Get(ctx, markKey(sub, leadID)).Int64()
	if isNil(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, unavailable("last success", sub, err)
	}
	return fromMicros(v), true, nil
}

// MarkSuccesses implements Store: one EVALSHA for all the marks (they share
// the subscription's hash tag, so this holds on Cluster too).
func (r *Redis) MarkSuccesses(ctx context.Context, sub string, leadIDs []string, at []time.Time) error {
	if err := r.begin(sub); err != nil {
		return err
	}
	if len(leadIDs) != len(at) {
		return fmt.Errorf("quota: %d leads, %d times", len(leadIDs), len(at))
	}
	if len(leadIDs) == 0 {
		return nil
	}
	keys := make([]string, len(leadIDs))
	args := make([]any, 0, len(at)+1)
	args = append(args, r.tune.successTTL.Milliseconds())
	for i, id := range leadIDs {
		keys[i] = markKey(sub, id)
		args = append(args, at[i].UnixMicro())
	}
	if err := markManyScript.Run(ctx, r.c, keys, args...).Err(); err != nil {
		return unavailable("mark successes", sub, err)
	}
	return nil
}

// LastSuccesses implements Store: one MGET.
func (r *Redis) LastSuccesses(ctx context.Context, sub string, leadIDs []string) ([]time.Time, error) {
	if err := r.begin(sub); err != nil {
		return nil, err
	}
	out := make([]time.Time, len(leadIDs))
	if len(leadIDs) == 0 {
		return out, nil
	}
	keys := make([]string, len(leadIDs))
	for i, id := range leadIDs {
		keys[i] = markKey(sub, id)
	}
	vals, err := r.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, unavailable("last successes", sub, err)
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if us, err := strconv.ParseInt(s, 10, 64); err == nil {
			out[i] = fromMicros(us)
		}
	}
	return out, nil
}

// Claim implements Store: one EVALSHA for all the keys.
func (r *Redis) Claim(ctx context.Context, sub, owner string, keys []string, ttl time.Duration) ([]bool, error) {
	return r.claim(ctx, sub, owner, keys, ttl, false)
}

// RenewClaims implements Store.
func (r *Redis) RenewClaims(ctx context.Context, sub, owner string, keys []string, ttl time.Duration) ([]bool, error) {
	return r.claim(ctx, sub, owner, keys, ttl, true)
}

func (r *Redis) claim(ctx context.Context, sub, owner string, keys []string, ttl time.Duration, renew bool) ([]bool, error) {
	if err := r.begin(sub); err != nil {
		return nil, err
	}
	if err := checkClaim(owner, ttl); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return []bool{}, nil
	}
	now := any("")
	if r.now != nil {
		now = micro(r.now()).UnixMicro()
	}
	rn := "0"
	if renew {
		rn = "1"
	}
	ks := append([]string{epochKey(sub)}, claimKeys(sub, keys)...)
	res, err := claimScript.Run(ctx, r.c, ks, now, owner, ttl.Milliseconds(), r.epochs.get(sub), rn, us(claimLossGrace(ttl))).Int64Slice()
	if err != nil {
		return nil, unavailable("claim", sub, err)
	}
	out := make([]bool, len(keys))
	for i := range out {
		out[i] = i < len(res) && res[i] == 1
	}
	return out, nil
}

// Unclaim implements Store.
func (r *Redis) Unclaim(ctx context.Context, sub, owner string, keys []string) error {
	if err := r.begin(sub); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	if err := compareDeleteScript.Run(ctx, r.c, claimKeys(sub, keys), owner).Err(); err != nil {
		return unavailable("unclaim", sub, err)
	}
	return nil
}

func claimKeys(sub string, values []string) []string {
	ks := make([]string, len(values))
	for i, v := range values {
		ks[i] = claimKey(sub, v)
	}
	return ks
}
