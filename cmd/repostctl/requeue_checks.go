package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

// mappingCodes are the codes parked for a mapping or data fix (the default
// policy): republished unchanged, such a lead parks again on the same code.
var mappingCodes = map[string]bool{
	"701": true, "704": true, "709": true, "1001": true, "1002": true, "1003": true, "1004": true,
	"1006": true, "1007": true, "1008": true, "1009": true, "1010": true, "1011": true, "1013": true,
	"1025": true, "1049": true,
}

// checkRequeue runs before a requeue publishes: leads parked on a mapping
// code and given no fix need --no-fix (they would only park again), and a
// requeue with no repostd running to take it is said so.
func checkRequeue(ctx context.Context, e *env, q *queue.Queue, f filter, t transforms, o *requeueOpts) error {
	if o.dryRun {
		return nil
	}
	if t.String() == "unchanged" && !o.noFix {
		byCode := map[string]int{}
		err := scanParked(ctx, q, f, func(string) {}, func(en entry) error {
			if c := en.P.Parked.Code.String(); mappingCodes[c] {
				byCode[c]++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(byCode) > 0 {
			codes := make([]string, 0, len(byCode))
			for c := range byCode {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			parts := make([]string, len(codes))
			for i, c := range codes {
				parts[i] = fmt.Sprintf("%s ×%d", c, byCode[c])
			}
			return usagef("these leads were parked for a mapping or data fix (%s): republished unchanged they park again.\n"+
				"Give a fix (--rename-field, --drop-field, --set-field, --coerce-field, --program-status; try --dry-run),\n"+
				"or --no-fix if the mapping was fixed in Marketo or the config", strings.Join(parts, ", "))
		}
	}
	if beats, err := q.Replicas(ctx, e.now()); err == nil && len(beats) == 0 {
		e.warn("no repostd is running on this NATS (no replica heartbeat): the requeued leads wait in POSTOUT_FAILED until one starts")
	}
	return nil
}

// waitRequeued follows the outcome stream from start until every requeued
// eventId has its terminal outcome, for at most d or until interrupted,
// then prints reposted, re-parked (by code), skipped and still waiting.
func waitRequeued(ctx context.Context, e *env, q *queue.Queue, ids map[string]bool, start time.Time, d time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	s, err := q.JS.Stream(wctx, queue.StreamOutcomes)
	if err != nil {
		return err
	}
	from := start.Add(-time.Second)
	c, err := s.OrderedConsumer(wctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{q.Subjects.All("outcome")},
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from})
	if err != nil {
		return err
	}
	got := map[string]repost.Outcome{}
	fmt.Fprintf(e.stderr, "repostctl: waiting for the outcomes of %d requeued leads (at most %s; Ctrl-C stops waiting)\n", len(ids), d)
	for len(got) < len(ids) && wctx.Err() == nil {
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if wctx.Err() != nil {
				break
			}
			return err
		}
		for m := range batch.Messages() {
			var o repost.Outcome
			if json.Unmarshal(m.Data(), &o) == nil && ids[o.EventID] && o.Kind.Terminal() {
				got[o.EventID] = o
			}
		}
	}
	counts, parkedBy := map[repost.Kind]int{}, map[string]int{}
	for _, o := range got {
		counts[o.Kind]++
		if o.Kind == repost.KindParked || o.Kind == repost.KindRejected {
			parkedBy[o.Code.String()]++
		}
	}
	codes := make([]string, 0, len(parkedBy))
	for c := range parkedBy {
		codes = append(codes, fmt.Sprintf("%s ×%d", c, parkedBy[c]))
	}
	sort.Strings(codes)
	re := ""
	if len(codes) > 0 {
		re = " (" + strings.Join(codes, ", ") + ")"
	}
	waiting := len(ids) - len(got)
	fmt.Fprintf(e.stdout, "outcomes: %d reposted, %d re-parked%s, %d skipped, %d still waiting\n",
		counts[repost.KindReposted], counts[repost.KindParked]+counts[repost.KindRejected], re, counts[repost.KindSkipped], waiting)
	if waiting > 0 && ctx.Err() == nil {
		return fmt.Errorf("%d requeued leads have no outcome after %s (repostctl status shows the backlog; trace one with repostctl trace)", waiting, d)
	}
	return nil
}
