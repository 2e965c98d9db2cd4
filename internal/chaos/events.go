package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/queue"
)

// expected is the terminal outcome each fixture kind must end with.
var expected = map[string]repost.Kind{
	"transient": repost.KindReposted, "auth": repost.KindReposted, "throttle": repost.KindReposted,
	"push": repost.KindReposted, "http-502": repost.KindReposted,
	"field-role": repost.KindParked, "type-mismatch": repost.KindParked, "bad-status": repost.KindParked,
	"hidden-role": repost.KindParked, "unknown-sub": repost.KindParked,
	"already-done": repost.KindSkipped, "invalid": repost.KindRejected,
	fixture.KindLargeRole: repost.KindParked, fixture.KindNearMaxInvalid: repost.KindRejected,
}

// nearMaxEvery places, in every block of that many events, one event of
// each kind near the 1 MiB max payload.
const nearMaxEvery = 1000

// published is what the accounting needs of one published event.
type published struct {
	Kind  string
	Email string // lookup value; "" for an invalid event
}

// makeEvents builds n events: a MixFraction share drawn from the demo's
// mix (parked, skipped, rejected and unknown-subscription paths), the rest
// plain failures that must be reposted, and in every nearMaxEvery events a
// 540 KB lead Marketo answers with 1006 and an invalid event a few hundred
// bytes under 1 MiB. Event i is evt-<i>, lead Email(i).
func makeEvents(n int, mixFraction float64, seed uint64, at time.Time) ([]fixture.Event, map[string]published) {
	mix := fixture.Mix(n, seed, at)
	r := rand.New(rand.NewPCG(seed, 0x63686173))
	evs := make([]fixture.Event, n)
	meta := make(map[string]published, n)
	for i := range n {
		e := mix[i]
		if r.Float64() >= mixFraction {
			e = fixture.Build(i, fixture.KindOK, at, fixture.Sub)
		}
		switch i % nearMaxEvery {
		case nearMaxEvery / 2:
			e = fixture.Build(i, fixture.KindLargeRole, at, fixture.Sub)
		case nearMaxEvery/2 + 1:
			e = fixture.Build(i, fixture.KindNearMaxInvalid, at, fixture.Sub)
		}
		evs[i] = e
		p := published{Kind: e.Kind, Email: fixture.Email(i)}
		if e.Kind == "invalid" || e.Kind == fixture.KindNearMaxInvalid {
			p.Email = ""
		}
		meta[e.ID] = p
	}
	return evs, meta
}

// publish sends the events in chunks at a steady pace over `over`, each
// chunk retried until JetStream acknowledges all of it: NATS may be
// restarting, and Nats-Msg-Id = eventId makes a repeat harmless.
func publish(ctx context.Context, q *queue.Queue, evs []fixture.Event, over time.Duration) (retries int, err error) {
	const chunk = 250
	chunks := (len(evs) + chunk - 1) / chunk
	start := time.Now()
	for c := range chunks {
		due := start.Add(over * time.Duration(c) / time.Duration(chunks))
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				return retries, ctx.Err()
			case <-time.After(d):
			}
		}
		part := evs[c*chunk : min(len(evs), (c+1)*chunk)]
		for {
			b := q.NewBatch()
			for _, e := range part {
				b.Failed(e.Sub, e.ID, e.Data)
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := b.Wait(wctx)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return retries, fmt.Errorf("chaos: publish: %w", err)
			}
			retries++
			time.Sleep(200 * time.Millisecond)
		}
	}
	return retries, nil
}
