package queue

import (
	"context"
	"encoding/json"
	"time"
)

// The success marks of a subscription live in Redis, which may lose them
// (a restart without persistence, a failover). NATS keeps what they were
// made from: each reposted outcome carries its lead and data time in
// headers (Batch.OutcomeMarked), and DAP's success notices are kept on the
// succeeded subject. ScanMarks reads both back, so that the marks can be
// rebuilt before any call is sent on a state that forgot them.

// ScanMarks calls fn with the lead and the data time of every success of
// sub recorded since since: repost's reposted outcomes (headers only) and
// DAP's success notices. fn's error ends the scan. It returns how many
// marks it read.
func (q *Queue) ScanMarks(ctx context.Context, sub string, since time.Time, fn func(leadID string, at time.Time) error) (int, error) {
	n := 0
	err := q.scan(ctx, StreamOutcomes, q.Subjects.Outcome(sub), scanFrom{since: since, headersOnly: true}, func(m StoredMsg) (bool, error) {
		lead := m.Header.Get(HeaderLead)
		at, ok := DataTime(m.Header)
		if lead == "" || !ok {
			return true, nil
		}
		n++
		return true, fn(lead, at)
	})
	if err != nil {
		return n, err
	}
	err = q.scan(ctx, StreamSucceeded, q.Subjects.Succeeded(sub), scanFrom{since: since}, func(m StoredMsg) (bool, error) {
		var notice struct {
			LeadID string    `json:"leadId"`
			At     time.Time `json:"at"`
		}
		if json.Unmarshal(m.Data, &notice) != nil || notice.LeadID == "" {
			return true, nil // the worker ignored it too
		}
		if notice.At.IsZero() {
			notice.At = m.Time
		}
		n++
		return true, fn(notice.LeadID, notice.At)
	})
	return n, err
}
