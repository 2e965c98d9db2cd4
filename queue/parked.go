package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StoredMsg is one message read back from a stream.
type StoredMsg struct {
	Seq     uint64
	Subject string
	Data    []byte
	Time    time.Time
	Header  nats.Header
}

// ScanParked calls fn for every parked entry, oldest first, of one
// subscription ("" for all), until fn returns false or an error.
func (q *Queue) ScanParked(ctx context.Context, sub string, fn func(StoredMsg) (bool, error)) error {
	filter := q.Subjects.All("parked")
	if sub != "" {
		filter = q.Subjects.Parked(sub)
	}
	return q.scan(ctx, StreamParked, filter, scanFrom{}, fn)
}

// ScanOutcomes calls fn for every outcome, oldest first, of one subscription
// ("" for all).
func (q *Queue) ScanOutcomes(ctx context.Context, sub string, fn func(StoredMsg) (bool, error)) error {
	filter := q.Subjects.All("outcome")
	if sub != "" {
		filter = q.Subjects.Outcome(sub)
	}
	return q.scan(ctx, StreamOutcomes, filter, scanFrom{}, fn)
}

// Scan calls fn for every message of stream on filter, oldest first, with
// its headers, until fn returns false. It reads up to the stream's last
// sequence at the start, even just after a leader change.
func (q *Queue) Scan(ctx context.Context, stream, filter string, fn func(StoredMsg) (bool, error)) error {
	return q.scan(ctx, stream, filter, scanFrom{}, fn)
}

// scanFrom narrows a scan: only messages stored since since (zero: all),
// and with headersOnly, without their data.
type scanFrom struct {
	since       time.Time
	headersOnly bool
}

func (q *Queue) scan(ctx context.Context, stream, filter string, from scanFrom, fn func(StoredMsg) (bool, error)) error {
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
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverAllPolicy,
		HeadersOnly: from.headersOnly}
	if !from.since.IsZero() {
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &from.since
	}
	c, err := s.OrderedConsumer(ctx, cc)
	if err != nil {
		return fmt.Errorf("queue: read %s: %w", stream, err)
	}
	if !from.since.IsZero() { // rest below starts from the stream's first message: ask the consumer first
		ci, err := c.Info(ctx)
		if err != nil {
			return fmt.Errorf("queue: read %s: %w", stream, err)
		}
		if ci.NumPending == 0 {
			return nil
		}
	}
	var seen uint64 // the last stream sequence handed to fn
	stalls := 0
	// rest reports whether an event up to last is still to be read after
	// seen. The consumer's own count cannot tell: just after a JetStream
	// leader change an ordered consumer may sit on a replica that is still
	// catching up, which reports nothing pending (and delivers nothing) while
	// the leader holds more. The leader answers this lookup.
	rest := func() bool {
		m, err := s.GetMsg(ctx, seen+1, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return false
		}
		return err != nil || m.Sequence <= last
	}
	for {
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
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
			seen = md.Sequence.Stream
			more, err := fn(StoredMsg{Seq: md.Sequence.Stream, Subject: m.Subject(), Data: m.Data(), Time: md.Timestamp, Header: m.Headers()})
			if err != nil || !more {
				return err
			}
			if md.Sequence.Stream >= last || (md.NumPending == 0 && !rest()) {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("queue: read %s: %w", stream, err)
		}
		if n == 0 {
			// An empty fetch ends the scan only when the rest was deleted
			// meanwhile: a partial answer would read as lost events.
			if !rest() {
				return nil
			}
			if stalls++; stalls > 10 {
				return fmt.Errorf("queue: read %s: no progress after sequence %d of %d", stream, seen, last)
			}
			continue
		}
		stalls = 0
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// GetParked returns the parked entry at a stream sequence.
func (q *Queue) GetParked(ctx context.Context, seq uint64) (StoredMsg, error) {
	s, err := q.JS.Stream(ctx, StreamParked)
	if err != nil {
		return StoredMsg{}, fmt.Errorf("queue: stream %s: %w", StreamParked, err)
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		return StoredMsg{}, fmt.Errorf("queue: parked entry %d: %w", seq, err)
	}
	return StoredMsg{Seq: m.Sequence, Subject: m.Subject, Data: m.Data, Time: m.Time, Header: m.Header}, nil
}

// DeleteParked removes one parked entry; an entry already gone is not an
// error, so an interrupted requeue can be run again.
func (q *Queue) DeleteParked(ctx context.Context, seq uint64) error {
	s, err := q.JS.Stream(ctx, StreamParked)
	if err != nil {
		return fmt.Errorf("queue: stream %s: %w", StreamParked, err)
	}
	err = s.DeleteMsg(ctx, seq)
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) && !alreadyGone(err) {
		return fmt.Errorf("queue: delete parked entry %d: %w", seq, err)
	}
	return nil
}

// alreadyGone recognises the server's answer to deleting a message that is
// no longer there (nats-server answers 10057 "no message found", which
// nats.go wraps as ErrMsgDeleteUnsuccessful rather than ErrMsgNotFound).
func alreadyGone(err error) bool {
	return errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) &&
		(strings.Contains(err.Error(), "no message found") || strings.Contains(err.Error(), "err_code=10057"))
}
