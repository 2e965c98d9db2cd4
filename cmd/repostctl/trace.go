package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

type traceOpts struct {
	lead string
	sub  string
}

func newTraceCmd(e *env, g *globals) *cobra.Command {
	o := &traceOpts{}
	c := &cobra.Command{
		Use:   "trace EVENT_ID | --lead LEAD_ID",
		Short: "An event's whole story from the streams: did lead X reach Marketo, and when?",
		Long: `An event's whole story, read from the streams: the failed event and every
copy of it on POSTOUT_FAILED (deferred, requeued as EVENT_ID~rN), each
outcome with its time, code and detail, and the entries parked now. The
last line answers whether the lead reached Marketo, and when.

EVENT_ID may be a requeued copy's ID: the story is the original's. --lead
traces every event of a lead. The streams are read whole (--subscription
narrows them), so a trace over a large retention takes a while.`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && o.lead != "":
				return usagef("trace takes an EVENT_ID or --lead, not both")
			case len(args) == 0 && o.lead == "":
				return usagef("trace needs an EVENT_ID or --lead LEAD_ID")
			case o.sub != "" && !queue.ValidToken(o.sub):
				return usagef("--subscription %q is not a subscription ID", o.sub)
			}
			s, err := openSession(c.Context(), e, g)
			if err != nil {
				return err
			}
			defer s.close()
			m := traceMatch{lead: o.lead}
			if len(args) == 1 {
				m.root = traceRoot(args[0])
			}
			tr, err := readTrace(c.Context(), s.q, o.sub, m)
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(e.stdout, tr)
			}
			return printTrace(e.stdout, tr, m)
		},
	}
	c.Flags().StringVar(&o.lead, "lead", "", "trace every event of this leadId")
	c.Flags().StringVar(&o.sub, "subscription", "", "read only this subscription's subjects")
	return c
}

var traceSuffix = regexp.MustCompile(`(~r[0-9]{1,9})+$`)

// traceRoot is the eventId a requeued copy (<id>~rN) replays, or id itself.
func traceRoot(id string) string {
	if loc := traceSuffix.FindStringIndex(id); loc != nil && loc[0] > 0 {
		return id[:loc[0]]
	}
	return id
}

// traceMatch selects by root eventId or by leadId.
type traceMatch struct{ root, lead string }

func (m traceMatch) match(eventID, leadID string) bool {
	if m.root != "" {
		return traceRoot(eventID) == m.root
	}
	return leadID == m.lead
}

// traceStep is one line of a story.
type traceStep struct {
	At      time.Time `json:"at"`
	Stream  string    `json:"stream"`
	Seq     uint64    `json:"seq"`
	EventID string    `json:"eventId"`
	What    string    `json:"what"` // published, deferred copy, requeued copy, an outcome kind, parked now
	Code    string    `json:"code,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	// DataAt is when a copy's data dates from (queue.HeaderDataTime): the
	// original's, not the copy's own publication.
	DataAt       *time.Time `json:"dataAt,omitempty"`
	order        int
	marketoID    int64
	marketoState string
}

// traceStory is one root event's story.
type traceStory struct {
	Root         string      `json:"root"`
	LeadID       string      `json:"leadId"`
	Subscription string      `json:"subscription"`
	Steps        []traceStep `json:"steps"`
	// Verdict answers "did it reach Marketo": reposted, parked, skipped,
	// rejected, discarded, or waiting (no terminal outcome yet).
	Verdict string `json:"verdict"`
	Summary string `json:"summary"`
}

func readTrace(ctx context.Context, q *queue.Queue, sub string, m traceMatch) ([]*traceStory, error) {
	byRoot := map[string]*traceStory{}
	story := func(eventID, leadID, subscription string) *traceStory {
		root := traceRoot(eventID)
		st := byRoot[root]
		if st == nil {
			st = &traceStory{Root: root}
			byRoot[root] = st
		}
		if st.LeadID == "" {
			st.LeadID = leadID
		}
		if st.Subscription == "" {
			st.Subscription = subscription
		}
		return st
	}
	order := 0
	failed := q.Subjects.All("failed")
	if sub != "" {
		failed = q.Subjects.Failed(sub)
	}
	err := scanWithHeaders(ctx, q, queue.StreamFailed, failed, func(msg queue.StoredMsg) (bool, error) {
		var ev struct {
			EventID      string `json:"eventId"`
			LeadID       string `json:"leadId"`
			Subscription string `json:"subscription"`
			RequeueOf    string `json:"requeueOf"`
			Code         any    `json:"responseStatusCode"`
			Reason       string `json:"responseReason"`
		}
		if json.Unmarshal(msg.Data, &ev) != nil || ev.EventID == "" || !m.match(ev.EventID, ev.LeadID) {
			return true, nil
		}
		what := "published"
		switch {
		case msg.Header.Get(queue.HeaderDeferred) != "":
			what = "deferred copy"
		case ev.RequeueOf != "" || ev.EventID != traceRoot(ev.EventID):
			what = "requeued copy"
		}
		detail := ev.Reason
		if ev.Code != nil {
			detail = strings.TrimSpace(fmt.Sprintf("DAP saw %v %s", ev.Code, ev.Reason))
		}
		var dataAt *time.Time
		if what != "published" {
			detail = copyDetail(what)
			if at, ok := queue.DataTime(msg.Header); ok {
				dataAt = &at
				detail = join(detail, "data of "+stamp(at))
			}
		}
		order++
		st := story(ev.EventID, ev.LeadID, ev.Subscription)
		st.Steps = append(st.Steps, traceStep{At: msg.Time, Stream: queue.StreamFailed, Seq: msg.Seq, EventID: ev.EventID,
			What: what, Detail: detail, DataAt: dataAt, order: order})
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	err = q.ScanOutcomes(ctx, sub, func(msg queue.StoredMsg) (bool, error) {
		var o repost.Outcome
		if json.Unmarshal(msg.Data, &o) != nil || !m.match(o.EventID, o.LeadID) {
			return true, nil
		}
		order++
		st := story(o.EventID, o.LeadID, o.Subscription)
		st.Steps = append(st.Steps, traceStep{At: o.At, Stream: queue.StreamOutcomes, Seq: msg.Seq, EventID: o.EventID,
			What: string(o.Kind), Code: o.Code.String(), Detail: traceDetail(o), order: order,
			marketoID: o.MarketoID, marketoState: o.Status})
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	err = q.ScanParked(ctx, sub, func(msg queue.StoredMsg) (bool, error) {
		p, err := decodeHead(msg.Data)
		if err != nil || !m.match(p.EventID, p.LeadID) {
			return true, nil
		}
		order++
		detail := p.Parked.Reason
		if p.Parked.Field != "" {
			detail = join(detail, "field "+p.Parked.Field)
		}
		detail = join(detail, fmt.Sprintf("parked at %s after %d attempts", stamp(p.Parked.ParkedAt), p.Parked.Attempts))
		st := story(p.EventID, p.LeadID, p.Subscription)
		st.Steps = append(st.Steps, traceStep{At: msg.Time, Stream: queue.StreamParked, Seq: msg.Seq, EventID: p.EventID,
			What: "parked now", Code: p.Parked.Code.String(), Detail: detail, order: order})
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*traceStory, 0, len(byRoot))
	for _, st := range byRoot {
		sort.SliceStable(st.Steps, func(i, j int) bool {
			a, b := st.Steps[i], st.Steps[j]
			if !a.At.Equal(b.At) {
				return a.At.Before(b.At)
			}
			return a.order < b.order
		})
		st.Verdict, st.Summary = verdict(st)
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].Steps) > 0 && len(out[j].Steps) > 0 && !out[i].Steps[0].At.Equal(out[j].Steps[0].At) {
			return out[i].Steps[0].At.Before(out[j].Steps[0].At)
		}
		return out[i].Root < out[j].Root
	})
	return out, nil
}

// copyDetail says who put a copy of the event on POSTOUT_FAILED, and why.
func copyDetail(what string) string {
	if what == "deferred copy" {
		return "put back by the worker to wait out the daily quota, a halt or a pause"
	}
	return "published again by repostctl"
}

func traceDetail(o repost.Outcome) string {
	d := o.Reason
	if o.Kind == repost.KindReposted {
		d = fmt.Sprintf("Marketo ID %d (%s)", o.MarketoID, o.Status)
	}
	if o.Attempts > 0 {
		d = join(d, fmt.Sprintf("attempts %d", o.Attempts))
	}
	if o.Actor != "" {
		d = join(d, "by "+o.Actor)
	}
	if o.RequeuedAs != "" {
		d = join(d, "as "+o.RequeuedAs)
	}
	return d
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// verdict reads the story's last word: the latest terminal outcome, or a
// requeue or discard after it, or a copy still waiting.
func verdict(st *traceStory) (string, string) {
	var last *traceStep
	waiting := false
	for i := range st.Steps {
		s := &st.Steps[i]
		switch s.What {
		case "published", "deferred copy", "requeued copy":
			waiting = true
		case string(repost.KindRequeued):
			waiting = true
			last = s
		case string(repost.KindReposted), string(repost.KindParked), string(repost.KindSkipped),
			string(repost.KindRejected), string(repost.KindDiscarded):
			waiting = false
			last = s
		}
	}
	switch {
	case waiting || last == nil:
		return "waiting", "no outcome yet: the lead has not reached Marketo (its event waits in POSTOUT_FAILED)"
	case last.What == string(repost.KindReposted):
		return last.What, fmt.Sprintf("reached Marketo at %s as lead %d (%s), event %s", stamp(last.At), last.marketoID, last.marketoState, last.EventID)
	case last.What == string(repost.KindParked):
		return last.What, fmt.Sprintf("did not reach Marketo: parked at %s on %s (repostctl parked show %s)", stamp(last.At), last.Code, last.EventID)
	case last.What == string(repost.KindSkipped):
		return last.What, fmt.Sprintf("nothing sent: skipped at %s on %s (already done, or superseded by a later success)", stamp(last.At), last.Code)
	case last.What == string(repost.KindDiscarded):
		return last.What, fmt.Sprintf("did not reach Marketo: discarded at %s (%s)", stamp(last.At), last.Detail)
	default:
		return last.What, fmt.Sprintf("did not reach Marketo: %s at %s on %s", last.What, stamp(last.At), last.Code)
	}
}

func printTrace(w io.Writer, stories []*traceStory, m traceMatch) error {
	if len(stories) == 0 {
		what := "event " + m.root
		if m.lead != "" {
			what = "lead " + m.lead
		}
		_, err := fmt.Fprintf(w, "%s: nothing in POSTOUT_FAILED, POSTOUT_OUTCOMES or REPOST_PARKED (never published, or aged out of the streams)\n", what)
		return err
	}
	for i, st := range stories {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "event %s  lead %s  subscription %s\n", st.Root, dash(st.LeadID), dash(st.Subscription))
		t := newTable(w, "AT", "STREAM", "SEQ", "EVENT", "WHAT", "CODE", "DETAIL")
		for _, s := range st.Steps {
			t.row(stamp(s.At), s.Stream, fmt.Sprint(s.Seq), s.EventID, s.What, dash(s.Code), clip(dash(s.Detail), 100))
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "=> %s\n", st.Summary)
	}
	return nil
}

// scanWithHeaders calls fn for every message on filter, oldest first, with
// its headers (a deferred copy is told by its header).
func scanWithHeaders(ctx context.Context, q *queue.Queue, stream, filter string, fn func(queue.StoredMsg) (bool, error)) error {
	return q.Scan(ctx, stream, filter, fn)
}
