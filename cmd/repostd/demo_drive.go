package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
)

type demo struct {
	o   demoOptions
	a   *app
	sim *marketotest.Server
	out io.Writer
	log *zap.Logger

	mu       sync.Mutex
	outcomes map[string]repost.Outcome // by eventId: the first one seen
	dupes    int
}

// drive publishes the events, shows progress until every event has its
// outcome, and returns the report.
func (d *demo) drive(ctx context.Context) (*demoReport, error) {
	d.outcomes = map[string]repost.Outcome{}
	sub, err := d.a.q.NC.Subscribe(d.a.q.Subjects.All("outcome"), d.onOutcome)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	start := time.Now()
	events := fixture.Mix(d.o.events, d.o.seed, start.Add(-time.Hour))
	if err := d.a.q.Ensure(ctx); err != nil {
		return nil, err
	}
	pubErr := make(chan error, 1)
	go func() { pubErr <- d.publish(ctx, events) }()

	tick := time.NewTicker(d.o.interval)
	defer tick.Stop()
	deadline := time.After(d.o.timeout)
	revoked := false
	for {
		select {
		case err := <-pubErr:
			if err != nil {
				return d.report(start, len(events)), err
			}
			pubErr = nil
		case <-tick.C:
			n := d.progress(start, len(events))
			if !revoked && n >= len(events)*2/5 {
				revoked = true
				d.sim.RevokeTokens() // Marketo now answers 601: the worker reauthenticates
				fmt.Fprintf(d.out, "          (simulator revoked every access token: next calls get 601)\n")
			}
			if n >= len(events) {
				time.Sleep(300 * time.Millisecond) // let late duplicates, if any, arrive
				d.progress(start, len(events))
				return d.report(start, len(events)), nil
			}
		case <-deadline:
			return d.report(start, len(events)), fmt.Errorf("demo: not every event had its outcome after %s", d.o.timeout)
		case <-ctx.Done():
			return d.report(start, len(events)), ctx.Err()
		}
	}
}

func (d *demo) publish(ctx context.Context, events []fixture.Event) error {
	burst := max(1, len(events)/20) // DAP's failures arrive over ~20 s
	for i := 0; i < len(events); i += burst {
		b := d.a.q.NewBatch()
		for _, e := range events[i:min(i+burst, len(events))] {
			b.Failed(e.Sub, e.ID, e.Data)
		}
		if err := b.Wait(ctx); err != nil {
			return err
		}
		select { // DAP's failures trickle in; the worker batches them anyway
		case <-time.After(d.o.pace):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (d *demo) onOutcome(m *nats.Msg) {
	var o repost.Outcome
	if err := json.Unmarshal(m.Data, &o); err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, seen := d.outcomes[o.EventID]; seen {
		d.dupes++
		return
	}
	d.outcomes[o.EventID] = o
}

// progress prints one line and returns how many events have their outcome.
func (d *demo) progress(start time.Time, total int) int {
	d.mu.Lock()
	by := map[repost.Kind]int{}
	for _, o := range d.outcomes {
		by[o.Kind]++
	}
	n := len(d.outcomes)
	d.mu.Unlock()
	st := d.sim.Stats()
	lpc := 0.0
	if st.Calls > 0 {
		lpc = float64(st.Records) / float64(st.Calls)
	}
	fmt.Fprintf(d.out, "[%5.1fs] %5d/%d done | reposted %5d  parked %4d  skipped %3d  rejected %3d | Marketo calls %3d  leads/call %5.1f\n",
		time.Since(start).Seconds(), n, total, by[repost.KindReposted], by[repost.KindParked],
		by[repost.KindSkipped], by[repost.KindRejected], st.Calls, lpc)
	return n
}

type demoReport struct {
	elapsed         time.Duration
	published, done int
	dupes           int
	byKind          map[repost.Kind]int
	byCode          map[string]int
	parked          map[string]int
	stats           marketotest.Stats
	reposted        int
	inSimulator     int
}

func (d *demo) report(start time.Time, published int) *demoReport {
	r := &demoReport{elapsed: time.Since(start), published: published, byKind: map[repost.Kind]int{},
		byCode: map[string]int{}, parked: map[string]int{}, stats: d.sim.Stats()}
	d.mu.Lock()
	r.done, r.dupes = len(d.outcomes), d.dupes
	for _, o := range d.outcomes {
		r.byKind[o.Kind]++
		r.byCode[string(o.Kind)+" "+o.Code.String()]++
		if o.Kind == repost.KindReposted {
			r.reposted++
			if _, ok := d.sim.Lead("email", "lead"+strings.TrimPrefix(o.EventID, "evt-")+"@example.com"); ok {
				r.inSimulator++
			}
		}
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = d.a.q.ScanParked(ctx, "", func(m queue.StoredMsg) (bool, error) {
		if p, err := repost.DecodeParkedLead(m.Data); err == nil {
			key := p.Subscription + "  " + p.Parked.Code.String()
			if p.Parked.Field != "" {
				key += "  field " + p.Parked.Field
			}
			r.parked[key]++
		}
		return true, nil
	})
	return r
}

func (r *demoReport) print(w io.Writer, cfgPath string) {
	fmt.Fprintf(w, "\nSummary after %.1fs\n", r.elapsed.Seconds())
	fmt.Fprintf(w, "  events published  %d; with an outcome %d; duplicate outcomes %d\n", r.published, r.done, r.dupes)
	fmt.Fprintf(w, "  outcomes by code:\n")
	for _, k := range sortedKeys(r.byCode) {
		fmt.Fprintf(w, "    %-32s %5d\n", k, r.byCode[k])
	}
	fmt.Fprintf(w, "  reposted leads found in the simulator: %d of %d\n", r.inSimulator, r.reposted)
	lpc := 0.0
	if r.stats.Calls > 0 {
		lpc = float64(r.stats.Records) / float64(r.stats.Calls)
	}
	fmt.Fprintf(w, "  Marketo calls %d (identity %d), leads per call %.1f, most in flight %d\n",
		r.stats.Calls, r.stats.IdentityCalls, lpc, r.stats.MaxConcurrent)
	fmt.Fprintf(w, "  Marketo answers:")
	for _, k := range sortedKeys(r.stats.ByCode) {
		fmt.Fprintf(w, " %s=%d", k, r.stats.ByCode[k])
	}
	fmt.Fprintf(w, "\n  limit violations caused by repost: 606=%d 607=%d 615=%d 413=%d\n",
		r.stats.Violations[606], r.stats.Violations[607], r.stats.Violations[615], r.stats.Violations[413])
	fmt.Fprintf(w, "  parked for a human (subscription, code, field):\n")
	for _, k := range sortedKeys(r.parked) {
		fmt.Fprintf(w, "    %-40s %5d\n", k, r.parked[k])
	}
	fmt.Fprintf(w, "\nLook at what was parked, fix the mapping, replay (once repostd runs again, as below; or add --offline):\n")
	fmt.Fprintf(w, "  go run ./cmd/repostctl --config %s parked summary\n", cfgPath)
	fmt.Fprintf(w, "  go run ./cmd/repostctl --config %s parked list --code 1006\n", cfgPath)
	fmt.Fprintf(w, "  go run ./cmd/repostctl --config %s parked requeue --code 1006 --rename-field role=jobTitle --dry-run\n", cfgPath)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
