package worker

import (
	"context"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
)

// recheck runs the superseded check again once the batch's lookup values
// are claimed. The first check ran when the events were fetched; a newer
// event of the same lead may have been sent and marked since (while this
// batch waited for a slot), and sending the older data now would overwrite
// it. The claim orders the two: the newer call's success mark is written
// before its claims are released, so it is visible here. Superseded events
// are finished; the rest of the batch is returned (nil when none is left).
// When the marks cannot be read the batch is handed back: sending it blind
// could overwrite newer data.
func (s *subRunner) recheck(ctx context.Context, b *batch) *batch {
	leads := make([]string, len(b.items))
	for i, it := range b.items {
		leads[i] = it.ev.LeadID
	}
	last, err := s.w.lim.LastSuccesses(ctx, s.sub.ID, leads)
	if err != nil || len(last) != len(leads) {
		s.w.log.Warn("cannot read success marks before sending; handing the batch back")
		s.handBack(b.items, 2*time.Second)
		return nil
	}
	var stale []*item
	for i, it := range b.items {
		if !last[i].IsZero() && last[i].After(it.at) {
			stale = append(stale, it)
		}
	}
	if len(stale) == 0 {
		return b
	}
	now := s.w.cfg.Now()
	f := s.w.newFinisher()
	kept := &batch{endpoint: b.endpoint, params: b.params, keys: map[string]bool{}}
	for i, it := range b.items {
		if last[i].IsZero() || !last[i].After(it.at) {
			kept.add(it)
			continue
		}
		f.outcome(it.msg, outcomeOf(it.ev, s.sub.ID, repost.KindSkipped, policy.CodeSuperseded,
			"a later post-out of this lead succeeded at "+last[i].UTC().Format(time.RFC3339), it.st.Attempts, now), nil,
			it.st.Attempts > 0 || it.st.Reauths > 0)
	}
	_ = f.flush(ctx) // on failure the events were handed back
	s.doneItems(stale)
	if len(kept.items) == 0 {
		return nil
	}
	return kept
}
