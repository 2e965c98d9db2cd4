package chaos

import (
	"bytes"
	"context"
	"encoding/json"
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
	KindPairNewer: repost.KindReposted, KindPairOlder: repost.KindSkipped, KindPaused: repost.KindParked,
}

// Kinds of the harness's own, beside the fixture's.
const (
	// An out-of-order pair: two failures of one lead (same leadId and
	// email), the newer data (attemptedAt a minute later, lastName
	// "Newer-<i>") published first, the older ("Older-<i>") right after.
	// The newer must be reposted; the older is skipped as superseded, or
	// reposted when it reached Marketo before the newer (which then wrote
	// over it): either way Marketo must end with the newer data.
	KindPairNewer = "pair-newer"
	KindPairOlder = "pair-older"
	// An event of PausedSub, paused before it is published: it must be
	// parked as expired before it ages out of POSTOUT_FAILED.
	KindPaused = "paused"
)

// PausedSub is the subscription paused for the whole run (its own
// simulator, so that a call made for it would show).
const PausedSub = "555-PAU-555"

// nearMaxEvery places, in every block of that many events, one event of
// each kind near the 1 MiB max payload.
const nearMaxEvery = 1000

// published is what the accounting needs of one published event.
type published struct {
	Kind     string
	Email    string    // lookup value; "" for an invalid event
	LastName string    // the lead's lastName in the event ("" when none)
	DataAt   time.Time // attemptedAt: the time of the event's data
	PubAt    time.Time // when its publication started
}

// makeEvents builds n events: a MixFraction share drawn from the demo's
// mix (parked, skipped, rejected and unknown-subscription paths), the rest
// plain failures that must be reposted, in every nearMaxEvery events a
// 540 KB lead Marketo answers with 1006 and an invalid event a few hundred
// bytes under 1 MiB, and in every pairEvery events (0: none) an
// out-of-order pair of one lead in its last two places. Event i is evt-<i>,
// lead Email(i); the older event of a pair has the lead of the newer.
func makeEvents(n int, mixFraction float64, pairEvery int, seed uint64, at time.Time) ([]fixture.Event, map[string]published) {
	mix := fixture.Mix(n, seed, at)
	r := rand.New(rand.NewPCG(seed, 0x63686173))
	evs := make([]fixture.Event, n)
	meta := make(map[string]published, n)
	for i := range n {
		e := mix[i]
		if r.Float64() >= mixFraction {
			e = fixture.Build(i, fixture.KindOK, at, fixture.Sub)
		}
		lead := i
		switch {
		case i%nearMaxEvery == nearMaxEvery/2:
			e = fixture.Build(i, fixture.KindLargeRole, at, fixture.Sub)
		case i%nearMaxEvery == nearMaxEvery/2+1:
			e = fixture.Build(i, fixture.KindNearMaxInvalid, at, fixture.Sub)
		case pairEvery > 0 && i%pairEvery == pairEvery-2 && i+1 < n:
			e = pairEvent(i, i, KindPairNewer, at.Add(time.Minute), fmt.Sprintf("Newer-%d", i))
		case pairEvery > 0 && i%pairEvery == pairEvery-1 && i >= 1:
			lead = i - 1
			e = pairEvent(i, lead, KindPairOlder, at, fmt.Sprintf("Older-%d", lead))
		}
		evs[i] = e
		meta[e.ID] = describe(e, lead, at)
	}
	return evs, meta
}

// pausedEvents builds n plain failures of PausedSub, evt-p<i>, of leads
// that no other event has.
func pausedEvents(n int, at time.Time) ([]fixture.Event, map[string]published) {
	evs := make([]fixture.Event, n)
	meta := make(map[string]published, n)
	for i := range n {
		e := fixture.Build(1_000_000+i, fixture.KindOK, at, PausedSub)
		e.Kind = KindPaused
		e.Data = rewrite(e.Data, func(ev map[string]any) { ev["eventId"] = fmt.Sprintf("evt-p%06d", i) })
		e.ID = fmt.Sprintf("evt-p%06d", i)
		evs[i] = e
		meta[e.ID] = describe(e, 1_000_000+i, at)
	}
	return evs, meta
}

// pairEvent is a plain failure of lead's lead as event i, with its own
// data time and lastName.
func pairEvent(i, lead int, kind string, at time.Time, lastName string) fixture.Event {
	e := fixture.Build(lead, fixture.KindOK, at, fixture.Sub)
	e.ID, e.Kind = fixture.ID(i), kind
	e.Data = rewrite(e.Data, func(ev map[string]any) {
		ev["eventId"] = e.ID
		ev["requestContent"].(map[string]any)["input"].([]any)[0].(map[string]any)["lastName"] = lastName
	})
	return e
}

// rewrite changes an event's JSON.
func rewrite(data []byte, change func(map[string]any)) []byte {
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		panic(err) // the fixture's events are JSON
	}
	change(ev)
	out, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return out
}

// describe is the accounting's view of event e of lead: its lookup value,
// lastName and data time, read from the event itself.
func describe(e fixture.Event, lead int, at time.Time) published {
	p := published{Kind: e.Kind, Email: fixture.Email(lead), DataAt: at}
	if e.Kind == "invalid" || e.Kind == fixture.KindNearMaxInvalid {
		p.Email = ""
		return p
	}
	var ev struct {
		AttemptedAt    time.Time `json:"attemptedAt"`
		RequestContent struct {
			Input []struct {
				LastName string `json:"lastName"`
			} `json:"input"`
		} `json:"requestContent"`
	}
	if json.Unmarshal(e.Data, &ev) == nil {
		p.DataAt = ev.AttemptedAt
		if len(ev.RequestContent.Input) > 0 {
			p.LastName = ev.RequestContent.Input[0].LastName
		}
	}
	return p
}

// publish sends the events in chunks at a steady pace over `over`, each
// chunk retried until JetStream acknowledges all of it: NATS may be
// restarting, and Nats-Msg-Id = eventId makes a repeat harmless. pubAt
// (nil, or one per event) gets the time each event's publication started.
func publish(ctx context.Context, q *queue.Queue, evs []fixture.Event, over time.Duration, pubAt []time.Time) (retries int, err error) {
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
		if pubAt != nil {
			now := time.Now()
			for i := range part {
				pubAt[c*chunk+i] = now
			}
		}
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
