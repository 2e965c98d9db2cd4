package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
)

// The publication ledger makes repostctl's import and requeue idempotent
// for longer than a stream's duplicate window (2 h on POSTOUT_FAILED, 24 h
// on the outcome stream): a run records the Nats-Msg-Id of every
// publication JetStream acknowledged, and a later run publishes only the
// ids it does not find. The records are keys of REPOST_EVENTS, so they
// live as long as that bucket keeps a key (30 days): longer than
// POSTOUT_FAILED keeps an event (14 days), and as long as the outcome
// stream keeps an outcome, so an event imported again can get no second
// outcome either.
//
// An id is recorded only once its publication was acknowledged: a run
// interrupted before the ack publishes it again, and one interrupted
// between the ack and the record publishes it again too, which the
// stream's duplicate window absorbs unless the rerun comes hours later.
// Two runs at once both look before either records, and both publish;
// they do so seconds apart, inside the duplicate window, so the stream
// stores the event once and its ack tells the second run it was a
// duplicate (Batch.Ack). Records are written with Create, so the first
// run's record stays.

// LedgerEntry is the record of one acknowledged publication.
type LedgerEntry struct {
	MsgID  string    `json:"msgId"`
	Stream string    `json:"stream"`
	Seq    uint64    `json:"seq"` // the stream sequence the ack gave
	At     time.Time `json:"at"`
}

// ledgerPrefix starts the ledger's keys, "pub.<stream>.<digest>".
const ledgerPrefix = "pub."

// ledgerLookups bounds the key-value requests in flight at once.
const ledgerLookups = 32

// ledgerKey is the key of a publication: message ids may hold characters
// that keys may not, so the key is a digest.
func ledgerKey(stream, msgID string) string {
	sum := sha256.Sum256([]byte(msgID))
	return ledgerPrefix + keyToken(stream) + "." + hex.EncodeToString(sum[:16])
}

// Recorded reports, for each of msgIDs, whether the ledger holds an
// acknowledged publication of it to stream.
func (q *Queue) Recorded(ctx context.Context, stream string, msgIDs []string) ([]bool, error) {
	if q.events == nil {
		return nil, errors.New("queue: Ensure was not called")
	}
	found := make([]bool, len(msgIDs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ledgerLookups)
	for i, id := range msgIDs {
		g.Go(func() error {
			_, err := q.events.Get(gctx, ledgerKey(stream, id))
			switch {
			case err == nil:
				found[i] = true
			case !errors.Is(err, jetstream.ErrKeyNotFound):
				return fmt.Errorf("queue: ledger: look up %s: %w", id, err)
			}
			return nil
		})
	}
	return found, g.Wait()
}

// Record writes the ledger entries of acknowledged publications. An entry
// already there (another run recorded the same publication) is kept.
func (q *Queue) Record(ctx context.Context, entries []LedgerEntry) error {
	if q.events == nil {
		return errors.New("queue: Ensure was not called")
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ledgerLookups)
	for _, e := range entries {
		g.Go(func() error {
			b, _ := json.Marshal(e)
			_, err := q.events.Create(gctx, ledgerKey(e.Stream, e.MsgID), b)
			if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
				return fmt.Errorf("queue: ledger: record %s: %w", e.MsgID, err)
			}
			return nil
		})
	}
	return g.Wait()
}
