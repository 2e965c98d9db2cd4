package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Events of subscriptions missing from the config are found by subject, not
// by a catch-all consumer: a consumer over dap.postout.failed.> would have
// every event of every configured subscription delivered and acked a second
// time, which doubled JetStream's work per event. Instead the worker lists
// the subjects the failed stream holds (one request), and reads the events
// of the unknown ones by sequence, keeping how far it got per subject in the
// REPOST_EVENTS bucket. The bucket's 30-day TTL outlives the stream's 14-day
// age limit, so a subject's progress is never forgotten while one of its
// events remains.

// failedStream returns the failed stream's handle, looked up once: each
// lookup is a request, and the handle's calls go by name.
func (q *Queue) failedStream(ctx context.Context) (jetstream.Stream, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failed == nil {
		s, err := q.JS.Stream(ctx, StreamFailed)
		if err != nil {
			return nil, fmt.Errorf("queue: stream %s: %w", StreamFailed, err)
		}
		q.failed = s
	}
	return q.failed, nil
}

// FailedSubjects returns the subjects the failed stream holds events on,
// with their counts.
func (q *Queue) FailedSubjects(ctx context.Context) (map[string]uint64, error) {
	s, err := q.failedStream(ctx)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(q.Subjects.All("failed")))
	if err != nil {
		return nil, fmt.Errorf("queue: subjects of %s: %w", StreamFailed, err)
	}
	return info.State.Subjects, nil
}

// FailedSubscription returns the subscription token of a subject of the
// failed stream, and false when the subject has not exactly one token
// after its prefix.
func (q *Queue) FailedSubscription(subject string) (string, bool) {
	return q.Subjects.SubscriptionOf("failed", subject)
}

// NextFailed returns the first event on subject at or after sequence seq,
// and nil when there is none.
func (q *Queue) NextFailed(ctx context.Context, subject string, seq uint64) (*jetstream.RawStreamMsg, error) {
	s, err := q.failedStream(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("queue: next event on %s: %w", subject, err)
	}
	return m, nil
}

// Progress is how far the events of one unrouted subject were handled.
//
// The bucket entry also says who holds the subject after that point, so
// that a replica parking its events and one creating the subscription's
// consumer never both take the same event: "N" (nobody), "N claim" (a
// replica is parking the events after N) or "N served" (a replica is
// creating the subscription's consumer, to start after N). Each is written
// with compare-and-set on the entry read, so of a claim and a hand-over
// made from the same entry only one lands.
type Progress struct {
	Done     uint64 // the last stream sequence handled; 0 for none
	revision uint64 // of the bucket entry, 0 when there is none yet
	saved    uint64 // Done as recorded in the bucket
	hold     string // "", holdClaim or holdServed
	at       time.Time
}

const (
	holdClaim  = "claim"
	holdServed = "served"
)

// ClaimStale is how long a claim holds a subject: longer than a batch
// takes to park (its publications are retried for Config.PublishRetry,
// a minute by default), after which the claiming replica is taken to have
// stopped without recording its progress, and its events are handled again.
const ClaimStale = 3 * time.Minute

// Unsaved reports whether Done is not what the bucket holds: nothing was
// recorded yet, or a consumer's ack floor moved it on.
func (p Progress) Unsaved() bool { return p.revision == 0 || p.Done != p.saved }

// Claimed reports whether a replica claimed the events after Done, and
// when (the server's clock).
func (p Progress) Claimed() (at time.Time, ok bool) { return p.at, p.hold == holdClaim }

// HandedOver reports whether a replica took the subject over for its
// subscription's consumer, and when (the server's clock).
func (p Progress) HandedOver() (at time.Time, ok bool) { return p.at, p.hold == holdServed }

// recordedProgress returns the progress recorded for subject, ok false when
// there is none.
func (q *Queue) recordedProgress(ctx context.Context, subject string) (p Progress, ok bool, err error) {
	e, err := q.events.Get(ctx, progressKey(subject))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Progress{}, false, nil
	}
	if err != nil {
		return Progress{}, false, fmt.Errorf("queue: progress of %s: %w", subject, err)
	}
	value, hold, _ := strings.Cut(string(e.Value()), " ")
	done, err := strconv.ParseUint(value, 10, 64)
	if err == nil && hold != "" && hold != holdClaim && hold != holdServed {
		err = fmt.Errorf("unknown holder %q", hold)
	}
	if err != nil {
		return Progress{}, false, fmt.Errorf("queue: progress of %s: %w", subject, err)
	}
	return Progress{Done: done, revision: e.Revision(), saved: done, hold: hold, at: e.Created()}, true, nil
}

func progressKey(subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return "u." + hex.EncodeToString(sum[:16])
}

// legacyUnrouted is the catch-all consumer earlier versions read every
// failed event with; an upgraded fleet leaves it idle (repostd never
// deletes a consumer), and what it acknowledged counts as handled. The
// first scan of a subject records that start, so the consumer may go.
const legacyUnrouted = "repost-unrouted"

// UnroutedProgress returns how far the events of subject were handled: the
// progress recorded, moved past the ack floor of any consumer that handled
// the subject's events too (the subscription's own, when it was configured
// for a while; the legacy catch-all), so that nothing they handled is
// parked again. A subject with neither starts at its first event.
func (q *Queue) UnroutedProgress(ctx context.Context, subject string) (Progress, error) {
	if q.events == nil {
		return Progress{}, errors.New("queue: Ensure was not called")
	}
	p, _, err := q.recordedProgress(ctx, subject)
	if err != nil {
		return Progress{}, err
	}
	names := []string{legacyUnrouted}
	if sub, ok := q.Subjects.SubscriptionOf("failed", subject); ok && ValidToken(sub) {
		names = append(names, ConsumerName(sub))
	}
	for _, name := range names {
		c, err := q.JS.Consumer(ctx, StreamFailed, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return Progress{}, fmt.Errorf("queue: consumer %s: %w", name, err)
		}
		p.Done = max(p.Done, c.CachedInfo().AckFloor.Stream)
	}
	return p, nil
}

// ErrProgressMoved is returned when another replica recorded progress on
// the same subject first; reading the progress again resumes after it.
var ErrProgressMoved = errors.New("queue: unrouted progress moved")

// SaveUnroutedProgress records that the events of subject up to sequence
// done are handled, and releases the subject, provided nobody recorded
// progress since p was read.
func (q *Queue) SaveUnroutedProgress(ctx context.Context, subject string, p Progress, done uint64) (Progress, error) {
	return q.writeProgress(ctx, subject, p, done, "")
}

// ClaimUnrouted records that this replica is parking the events of subject
// after p.Done, provided nobody recorded progress since p was read; it
// returns ErrProgressMoved otherwise. Save the progress once they are
// parked: the claim holds the subject, for ClaimStale, against other
// replicas parking the same events and against the subscription's consumer
// being created to start before them.
func (q *Queue) ClaimUnrouted(ctx context.Context, subject string, p Progress) (Progress, error) {
	return q.writeProgress(ctx, subject, p, p.Done, holdClaim)
}

func (q *Queue) writeProgress(ctx context.Context, subject string, p Progress, done uint64, hold string) (Progress, error) {
	if q.events == nil {
		return p, errors.New("queue: Ensure was not called")
	}
	value := strconv.FormatUint(done, 10)
	if hold != "" {
		value += " " + hold
	}
	var rev uint64
	var err error
	if p.revision == 0 {
		rev, err = q.events.Create(ctx, progressKey(subject), []byte(value))
	} else {
		rev, err = q.events.Update(ctx, progressKey(subject), []byte(value), p.revision)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return p, ErrProgressMoved
	}
	if err != nil {
		return p, fmt.Errorf("queue: save progress of %s: %w", subject, err)
	}
	return Progress{Done: done, revision: rev, saved: done, hold: hold, at: time.Now()}, nil
}

// handOver takes the subject of a subscription whose consumer is about to
// be created away from the unrouted scans, and returns the last sequence
// they handled: the consumer starts after it. A replica parking the
// subject's events at that moment is waited for, until it records its
// progress or its claim is stale (then the consumer starts after what was
// recorded before the claim, and may deliver some events parked already:
// repeated rather than lost).
func (q *Queue) handOver(ctx context.Context, subject string) (uint64, error) {
	for {
		p, _, err := q.recordedProgress(ctx, subject)
		if err != nil {
			return 0, err
		}
		if at, ok := p.Claimed(); ok && time.Since(at) < ClaimStale {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		_, err = q.writeProgress(ctx, subject, p, p.Done, holdServed)
		if errors.Is(err, ErrProgressMoved) {
			continue
		}
		return p.Done, err
	}
}

// ConsumerActivity reports whether the durable consumer of sub exists
// (some replica served sub at some time: repostd never deletes one), and
// its last sign of life: when it was created, last delivered or last
// acknowledged, by the server's clock.
func (q *Queue) ConsumerActivity(ctx context.Context, sub string) (last time.Time, exists bool, err error) {
	c, err := q.JS.Consumer(ctx, StreamFailed, ConsumerName(sub))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("queue: consumer %s: %w", ConsumerName(sub), err)
	}
	info := c.CachedInfo()
	last = info.Created
	for _, t := range []*time.Time{info.Delivered.Last, info.AckFloor.Last} {
		if t != nil && t.After(last) {
			last = *t
		}
	}
	return last, true, nil
}

// FailedMaxAge is the age limit POSTOUT_FAILED was created with (0: none):
// the stream's own, which may differ from Options.MaxAge when the stream
// existed before (repost never reconfigures one).
func (q *Queue) FailedMaxAge(ctx context.Context) (time.Duration, error) {
	s, err := q.failedStream(ctx)
	if err != nil {
		return 0, err
	}
	return s.CachedInfo().Config.MaxAge, nil
}
