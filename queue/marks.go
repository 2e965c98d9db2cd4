package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
	err := q.scanSince(ctx, StreamOutcomes, q.Subjects.Outcome(sub), since, true, func(m StoredMsg) error {
		lead := m.Header.Get(HeaderLead)
		at, ok := DataTime(m.Header)
		if lead == "" || !ok {
			return nil
		}
		n++
		return fn(lead, at)
	})
	if err != nil {
		return n, err
	}
	err = q.scanSince(ctx, StreamSucceeded, q.Subjects.Succeeded(sub), since, false, func(m StoredMsg) error {
		var notice struct {
			LeadID string    `json:"leadId"`
			At     time.Time `json:"at"`
		}
		if json.Unmarshal(m.Data, &notice) != nil || notice.LeadID == "" {
			return nil // the worker ignored it too
		}
		if notice.At.IsZero() {
			notice.At = m.Time
		}
		n++
		return fn(notice.LeadID, notice.At)
	})
	return n, err
}

// scanSince calls fn for every message of stream on filter stored since
// since, oldest first, up to the last one stored when it starts; with
// headersOnly, the messages come without their data.
func (q *Queue) scanSince(ctx context.Context, stream, filter string, since time.Time, headersOnly bool, fn func(StoredMsg) error) error {
	s, err := q.JS.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("queue: stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return fmt.Errorf("queue: stream %s: %w", stream, err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	last := info.State.LastSeq
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime: &since, HeadersOnly: headersOnly,
	})
	if err != nil {
		return fmt.Errorf("queue: read %s: %w", stream, err)
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("queue: read %s: %w", stream, err)
	}
	if ci.NumPending == 0 {
		return nil
	}
	stalls := 0
	for {
		batch, err := c.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return fmt.Errorf("queue: read %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			if err := fn(StoredMsg{Seq: md.Sequence.Stream, Subject: m.Subject(), Data: m.Data(), Time: md.Timestamp, Header: m.Headers()}); err != nil {
				return err
			}
			if md.Sequence.Stream >= last || md.NumPending == 0 {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("queue: read %s: %w", stream, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if n > 0 {
			stalls = 0
			continue
		}
		if stalls++; stalls > 10 {
			return fmt.Errorf("queue: read %s: no progress towards sequence %d", stream, last)
		}
	}
}
