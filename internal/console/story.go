package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

// Step is one line of an event's story: a copy of the event on
// POSTOUT_FAILED, or an outcome.
type Step struct {
	At      time.Time
	EventID string
	What    string // published, deferred copy, requeued copy, or the outcome's kind
	Code    string // outcome code; "" for a copy
	Detail  string // reason, Marketo ID and status, actor, requeuedAs
}

// Story is what the console knows of one event and its requeues.
type Story struct {
	Steps []Step
}

// storyScanBudget bounds one page's reading of each stream: a story is
// told from what fits, and the page says when it was cut.
const storyScanBudget = 200_000

var requeueSuffix = regexp.MustCompile(`~r[0-9]{1,9}$`)

// rootID is the eventId a requeue (<id>~r<N>) replays, or id itself.
func rootID(id string) string {
	if m := requeueSuffix.FindStringIndex(id); m != nil {
		return id[:m[0]]
	}
	return id
}

// stories reads the failed and outcome streams of sub from since on, and
// returns the story of each root eventId in roots, and whether a stream
// was cut by the budget. It is the console's reading of `repostctl trace`.
func stories(ctx context.Context, js jetstream.JetStream, subj queue.Subjects, sub string, roots map[string]bool, since time.Time) (map[string]*Story, bool, error) {
	out := map[string]*Story{}
	add := func(root string, s Step) {
		st := out[root]
		if st == nil {
			st = &Story{}
			out[root] = st
		}
		st.Steps = append(st.Steps, s)
	}
	cut1, err := scanSince(ctx, js, queue.StreamFailed, subj.Failed(sub), since, func(m jetstream.Msg, at time.Time) {
		var ev struct {
			EventID   string `json:"eventId"`
			RequeueOf string `json:"requeueOf"`
		}
		if json.Unmarshal(m.Data(), &ev) != nil || !roots[rootID(ev.EventID)] {
			return
		}
		what := "published"
		switch {
		case m.Headers().Get(queue.HeaderDeferred) != "":
			what = "deferred copy"
		case ev.RequeueOf != "":
			what = "requeued copy"
		}
		add(rootID(ev.EventID), Step{At: at, EventID: ev.EventID, What: what})
	})
	if err != nil {
		return nil, false, err
	}
	cut2, err := scanSince(ctx, js, queue.StreamOutcomes, subj.Outcome(sub), since, func(m jetstream.Msg, _ time.Time) {
		var o repost.Outcome
		if json.Unmarshal(m.Data(), &o) != nil || !roots[rootID(o.EventID)] {
			return
		}
		add(rootID(o.EventID), Step{At: o.At, EventID: o.EventID, What: string(o.Kind), Code: o.Code.String(), Detail: outcomeDetail(o)})
	})
	if err != nil {
		return nil, false, err
	}
	for _, st := range out {
		sort.SliceStable(st.Steps, func(i, j int) bool { return st.Steps[i].At.Before(st.Steps[j].At) })
	}
	return out, cut1 || cut2, nil
}

func outcomeDetail(o repost.Outcome) string {
	d := o.Reason
	if o.Kind == repost.KindReposted && o.MarketoID != 0 {
		d = fmt.Sprintf("Marketo ID %d (%s)", o.MarketoID, o.Status)
	}
	if o.Attempts > 0 {
		d = join(d, fmt.Sprintf("attempts %d", o.Attempts))
	}
	if o.Actor != "" {
		d = join(d, "by "+o.Actor)
	}
	return d
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// scanSince calls fn for each message on filter stored at or after since,
// oldest first, up to storyScanBudget of them; it reports whether the
// budget cut the reading short.
func scanSince(ctx context.Context, js jetstream.JetStream, stream, filter string, since time.Time, fn func(jetstream.Msg, time.Time)) (bool, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false, fmt.Errorf("console: stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return false, fmt.Errorf("console: stream %s: %w", stream, err)
	}
	if info.State.Msgs == 0 {
		return false, nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if !since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	c, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("console: read %s: %w", stream, err)
	}
	n := 0
	for {
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return false, fmt.Errorf("console: read %s: %w", stream, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return false, err
			}
			fn(m, md.Timestamp)
			if n++; n >= storyScanBudget {
				return md.NumPending > 0, nil
			}
			if md.Sequence.Stream >= info.State.LastSeq || md.NumPending == 0 {
				return false, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return false, fmt.Errorf("console: read %s: %w", stream, err)
		}
		if got == 0 || ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
}
