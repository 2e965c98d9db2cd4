package queue

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Replica heartbeats and operator pauses live in the REPOST_EVENTS bucket
// under their own key prefixes, read with filtered watches (never by
// listing the bucket, which holds one key per event in flight). Per-key TTLs
// need nats-server 2.11, and 2.10 is supported: a heartbeat carries its
// interval, and readers drop entries older than StaleAfter intervals.

// Heartbeat is what a repostd replica announces about itself.
type Heartbeat struct {
	ID            string        `json:"id"`
	Host          string        `json:"host"`
	Version       string        `json:"version"`
	StartedAt     time.Time     `json:"startedAt"`
	SeenAt        time.Time     `json:"seenAt"`
	Every         time.Duration `json:"every"` // the heartbeat interval
	Subscriptions []string      `json:"subscriptions"`
	// Per subscription: events held (fetched, not finished), and what the
	// replica finished and called over the last Recent.
	InFlight map[string]int          `json:"inFlight,omitempty"`
	Recent   map[string]RecentCounts `json:"recent,omitempty"`
	Span     time.Duration           `json:"span,omitempty"` // the span Recent covers
}

// RecentCounts are outcomes and Marketo calls of one subscription over a span.
type RecentCounts struct {
	Reposted int `json:"reposted"`
	Parked   int `json:"parked"`
	Skipped  int `json:"skipped"`
	Rejected int `json:"rejected"`
	Calls    int `json:"calls"`
}

// StaleAfter is how many missed heartbeats make a replica gone.
const StaleAfter = 3

// Pause is an operator's hold on a subscription (repostctl subscription pause).
type Pause struct {
	Subscription string    `json:"subscription"`
	Reason       string    `json:"reason"`
	Actor        string    `json:"actor"`
	At           time.Time `json:"at"`
	Until        time.Time `json:"until,omitzero"` // zero: until resumed
}

// InForce reports whether the pause holds at now: an expired --until lifts it.
func (p Pause) InForce(now time.Time) bool { return p.Until.IsZero() || now.Before(p.Until) }

const (
	replicaPrefix = "replica."
	pausePrefix   = "pause."
)

// keyToken makes s fit a KV key token: kept when it only holds letters,
// digits, '-' and '_', else hex-encoded behind "x".
func keyToken(s string) string {
	ok := s != ""
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			ok = false
			break
		}
	}
	if ok && !strings.HasPrefix(s, "x") {
		return s
	}
	return "x" + hex.EncodeToString([]byte(s))
}

func (q *Queue) bucket() (jetstream.KeyValue, error) {
	if q.events == nil {
		return nil, errors.New("queue: Ensure was not called")
	}
	return q.events, nil
}

// Announce stores a replica's heartbeat.
func (q *Queue) Announce(ctx context.Context, h Heartbeat) error {
	kv, err := q.bucket()
	if err != nil {
		return err
	}
	b, _ := json.Marshal(h)
	if _, err := kv.Put(ctx, replicaPrefix+keyToken(h.ID), b); err != nil {
		return fmt.Errorf("queue: heartbeat: %w", err)
	}
	return nil
}

// Withdraw removes a replica's heartbeat (clean shutdown).
func (q *Queue) Withdraw(ctx context.Context, id string) error {
	kv, err := q.bucket()
	if err != nil {
		return err
	}
	if err := kv.Purge(ctx, replicaPrefix+keyToken(id)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("queue: withdraw heartbeat: %w", err)
	}
	return nil
}

// Replicas returns the heartbeats seen within StaleAfter intervals of now
// (by the server's time of each entry, so that pod clocks do not matter
// beyond the reader's own).
func (q *Queue) Replicas(ctx context.Context, now time.Time) ([]Heartbeat, error) {
	var out []Heartbeat
	err := q.readPrefix(ctx, replicaPrefix, func(e jetstream.KeyValueEntry) {
		var h Heartbeat
		if json.Unmarshal(e.Value(), &h) != nil {
			return
		}
		every := max(h.Every, time.Second)
		if now.Sub(e.Created()) > StaleAfter*every {
			return
		}
		out = append(out, h)
	})
	return out, err
}

// SetPause stores a pause; it holds for every replica until DeletePause or Until.
func (q *Queue) SetPause(ctx context.Context, p Pause) error {
	kv, err := q.bucket()
	if err != nil {
		return err
	}
	b, _ := json.Marshal(p)
	if _, err := kv.Put(ctx, pausePrefix+keyToken(p.Subscription), b); err != nil {
		return fmt.Errorf("queue: pause %s: %w", p.Subscription, err)
	}
	return nil
}

// DeletePause lifts a pause; it reports whether there was one.
func (q *Queue) DeletePause(ctx context.Context, sub string) (bool, error) {
	kv, err := q.bucket()
	if err != nil {
		return false, err
	}
	key := pausePrefix + keyToken(sub)
	if _, err := kv.Get(ctx, key); errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("queue: resume %s: %w", sub, err)
	}
	if err := kv.Purge(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, fmt.Errorf("queue: resume %s: %w", sub, err)
	}
	return true, nil
}

// GetPause returns a subscription's stored pause, in force or expired.
func (q *Queue) GetPause(ctx context.Context, sub string) (Pause, bool, error) {
	kv, err := q.bucket()
	if err != nil {
		return Pause{}, false, err
	}
	e, err := kv.Get(ctx, pausePrefix+keyToken(sub))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Pause{}, false, nil
	}
	if err != nil {
		return Pause{}, false, fmt.Errorf("queue: pause of %s: %w", sub, err)
	}
	var p Pause
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return Pause{}, false, fmt.Errorf("queue: pause of %s: %w", sub, err)
	}
	return p, true, nil
}

// Pauses returns every stored pause by subscription, in force or expired.
func (q *Queue) Pauses(ctx context.Context) (map[string]Pause, error) {
	out := map[string]Pause{}
	err := q.readPrefix(ctx, pausePrefix, func(e jetstream.KeyValueEntry) {
		var p Pause
		if json.Unmarshal(e.Value(), &p) == nil && p.Subscription != "" {
			out[p.Subscription] = p
		}
	})
	return out, err
}

// readPrefix calls fn with the current value of every key under prefix.
func (q *Queue) readPrefix(ctx context.Context, prefix string, fn func(jetstream.KeyValueEntry)) error {
	kv, err := q.bucket()
	if err != nil {
		return err
	}
	w, err := kv.Watch(ctx, prefix+"*", jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("queue: read %s*: %w", prefix, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("queue: watch ended")
			}
			if e == nil {
				return nil // the current values are all delivered
			}
			fn(e)
		}
	}
}

// ConsumerInfo returns the state of a subscription's consumer, and
// jetstream.ErrConsumerNotFound before any worker created it.
func (q *Queue) ConsumerInfo(ctx context.Context, sub string) (*jetstream.ConsumerInfo, error) {
	c, err := q.JS.Consumer(ctx, StreamFailed, ConsumerName(sub))
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

// OldestFailed returns the publication time of the first event of sub at
// or after sequence seq; ok is false when there is none.
func (q *Queue) OldestFailed(ctx context.Context, sub string, seq uint64) (time.Time, bool, error) {
	m, err := q.NextFailed(ctx, q.Subjects.Failed(sub), max(seq, 1))
	if err != nil || m == nil {
		return time.Time{}, false, err
	}
	return m.Time, true, nil
}

// Server describes the connection for status: the URL without
// credentials, the server's version, and whether it is connected.
func (q *Queue) Server() (url, version string, connected bool) {
	return redactedURL(q.opts.URL), q.NC.ConnectedServerVersion(), q.NC.IsConnected()
}
