package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// failingInfo is a consumer that does not answer an info request (a leader
// change, a NATS restart); nothing else of it is used here.
type failingInfo struct{ jetstream.Consumer }

func (failingInfo) Info(context.Context) (*jetstream.ConsumerInfo, error) {
	return nil, errors.New("nats: timeout")
}

// An unanswered info request is no sign of the tail: undelivered says it
// does not know, and a replica holding back for the tail's collector
// fetches again at once rather than hold on a guess. Before, the request's
// error read as "nothing left to deliver" and the hold lasted its span
// (make chaos-cluster lost 765 events to the stream's max age after a
// consumer leader change).
func TestTailHeldFetchesWhenTheConsumerDoesNotAnswer(t *testing.T) {
	s := &subRunner{cons: failingInfo{}}
	ctx := context.Background()
	if pending, known := s.undelivered(ctx); pending || known {
		t.Fatalf("undelivered = %v, %v with the info request failing, want false, false (not known)", pending, known)
	}
	s.tail.until = time.Now().Add(time.Minute)
	if d := s.tailHeld(ctx); d != 0 {
		t.Fatalf("tailHeld = %s with the info request failing, want 0: fetch, not hold on a guess", d)
	}
	if !s.tail.until.IsZero() {
		t.Errorf("the hold is still set until %s, want it lifted", s.tail.until)
	}
}
