package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// EventState is what repost remembers about an event across redeliveries,
// restarts and replicas: the attempts that count toward maxAttempts, and the
// reauthentications, which do not but are bounded all the same.
type EventState struct {
	Attempts int    `json:"attempts"`
	Reauths  int    `json:"reauths,omitempty"`
	LastCode string `json:"lastCode,omitempty"`
	// Stored is set by LoadState when the bucket holds a state for the
	// event, even one with no attempt (a throttle, a halt): its terminal
	// outcome must remove it.
	Stored bool `json:"-"`
}

// Kept reports whether the event may have a state in the bucket to remove
// once it reaches its outcome.
func (st EventState) Kept() bool { return st.Stored || st.Attempts > 0 || st.Reauths > 0 }

// LoadState returns the stored state of an event (zero when none).
func (q *Queue) LoadState(ctx context.Context, eventID string) (EventState, error) {
	var st EventState
	if q.events == nil {
		return st, errors.New("queue: Ensure was not called")
	}
	e, err := q.events.Get(ctx, eventKey(eventID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("queue: load state of %s: %w", eventID, err)
	}
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return EventState{}, fmt.Errorf("queue: state of %s: %w", eventID, err)
	}
	st.Stored = true
	return st, nil
}

// SaveState stores the state of an event.
func (q *Queue) SaveState(ctx context.Context, eventID string, st EventState) error {
	if q.events == nil {
		return errors.New("queue: Ensure was not called")
	}
	b, _ := json.Marshal(st)
	if _, err := q.events.Put(ctx, eventKey(eventID), b); err != nil {
		return fmt.Errorf("queue: save state of %s: %w", eventID, err)
	}
	return nil
}

// ForgetState removes the state of an event that reached its outcome.
func (q *Queue) ForgetState(ctx context.Context, eventID string) error {
	if q.events == nil {
		return errors.New("queue: Ensure was not called")
	}
	err := q.events.Purge(ctx, eventKey(eventID))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("queue: forget state of %s: %w", eventID, err)
	}
	return nil
}
