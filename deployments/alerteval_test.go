package deployments

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// The alert rules evaluated by Prometheus' own PromQL engine over series
// written like promtool's: "a+bxN" is N+1 samples a, a+b, a+2b, ... one a
// minute from time 0, and segments separated by spaces follow each other.
// An alert fires at T when its expression returns the series at every
// evaluation (each minute) from T-for to T, as Prometheus' rule manager
// does; its labels are the series' without the metric name.

type seriesSpec struct {
	metric string // PromQL metric notation: name{label="value"}
	values string // a+bxN
}

// fsample is a float sample for storage.NewListSeries.
type fsample struct {
	t int64
	f float64
}

func (s fsample) T() int64                      { return s.t }
func (s fsample) ST() int64                     { return 0 }
func (s fsample) F() float64                    { return s.f }
func (s fsample) H() *histogram.Histogram       { return nil }
func (s fsample) FH() *histogram.FloatHistogram { return nil }
func (s fsample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fsample) Copy() chunks.Sample           { return s }

func mustSeries(tb testing.TB, specs []seriesSpec) []storage.Series {
	tb.Helper()
	var out []storage.Series
	for _, sp := range specs {
		lset, err := promqlParser.ParseMetric(sp.metric)
		if err != nil {
			tb.Fatalf("%s: %v", sp.metric, err)
		}
		var samples []chunks.Sample
		for _, seg := range strings.Fields(sp.values) {
			start, rest, ok1 := strings.Cut(seg, "+")
			step, count, ok2 := strings.Cut(rest, "x")
			a, err1 := strconv.ParseFloat(start, 64)
			b, err2 := strconv.ParseFloat(step, 64)
			n, err3 := strconv.Atoi(count)
			if !ok1 || !ok2 || err1 != nil || err2 != nil || err3 != nil {
				tb.Fatalf("%s: values %q are not a+bxN", sp.metric, sp.values)
			}
			for i := 0; i <= n; i++ {
				samples = append(samples, fsample{t: int64(len(samples)) * time.Minute.Milliseconds(), f: a + b*float64(i)})
			}
		}
		out = append(out, storage.NewListSeries(lset, samples))
	}
	slices.SortFunc(out, func(x, y storage.Series) int { return labels.Compare(x.Labels(), y.Labels()) })
	return out
}

// memQueryable serves fixed series to the engine.
func memQueryable(series []storage.Series) storage.Queryable {
	return &storage.MockQueryable{MockQuerier: &storage.MockQuerier{
		SelectMockFunction: func(_ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
			var sel []storage.Series
			for _, s := range series {
				if matchesAll(s.Labels(), ms) {
					sel = append(sel, s)
				}
			}
			return &listSet{series: sel, i: -1}
		},
	}}
}

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

type listSet struct {
	series []storage.Series
	i      int
}

func (l *listSet) Next() bool                        { l.i++; return l.i < len(l.series) }
func (l *listSet) At() storage.Series                { return l.series[l.i] }
func (l *listSet) Err() error                        { return nil }
func (l *listSet) Warnings() annotations.Annotations { return nil }

// firing returns the label sets of the alert at minute atMinute.
func firing(tb testing.TB, expr string, hold time.Duration, q storage.Queryable, atMinute int) []string {
	tb.Helper()
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	var active map[string]bool
	for m := atMinute - int(hold/time.Minute); m <= atMinute; m++ {
		qry, err := engine.NewInstantQuery(context.Background(), q, nil, expr, time.UnixMilli(0).Add(time.Duration(m)*time.Minute))
		if err != nil {
			tb.Fatalf("%s: %v", expr, err)
		}
		res := qry.Exec(context.Background())
		vec, err := res.Vector()
		if err != nil {
			tb.Fatalf("%s at minute %d: %v", expr, m, err)
		}
		now := map[string]bool{}
		for _, s := range vec {
			key := labels.NewBuilder(s.Metric).Del(labels.MetricName).Labels().String()
			if active == nil || active[key] {
				now[key] = true
			}
		}
		active = now
		qry.Close()
	}
	out := make([]string, 0, len(active))
	for k := range active {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestAlertsFire(t *testing.T) {
	tests := []struct {
		alert  string
		series []seriesSpec
		at     int // minute
		want   []string
	}{
		{"RepostSubscriptionHalted", []seriesSpec{
			{`repost_subscription_halted{subscription="123-ABC-456",pod="a"}`, "1+0x10"},
			{`repost_subscription_halted{subscription="123-ABC-456",pod="b"}`, "1+0x10"},
			{`repost_subscription_halted{subscription="456-DEF-789",pod="a"}`, "0+0x10"},
		}, 10, []string{`{subscription="123-ABC-456"}`}}, // one alert, not one per pod
		{"RepostSubscriptionHalted", []seriesSpec{
			{`repost_subscription_halted{subscription="123-ABC-456",pod="a"}`, "1+0x4"},
		}, 4, nil}, // halted for 4 minutes: not yet
		{"RepostParkedGrowing", []seriesSpec{
			{`repost_parked_total{subscription="123-ABC-456",code="1006",pod="a"}`, "0+1x70"},
			{`repost_parked_total{subscription="123-ABC-456",code="1001",pod="a"}`, "0+0.5x70"},
		}, 70, []string{`{code="1006", subscription="123-ABC-456"}`}},
		{"RepostQuotaAbove90Percent", []seriesSpec{
			{`repost_quota_used{subscription="123-ABC-456",pod="a"}`, "46000+10x10"},
			{`repost_quota_limit{subscription="123-ABC-456",pod="a"}`, "50000+0x10"},
			{`repost_quota_used{subscription="456-DEF-789",pod="a"}`, "40000+10x10"},
			{`repost_quota_limit{subscription="456-DEF-789",pod="a"}`, "50000+0x10"},
		}, 10, []string{`{subscription="123-ABC-456"}`}},
		{"RepostQuotaAbove90Percent", []seriesSpec{
			{`repost_quota_used{subscription="123-ABC-456",pod="a"}`, "5+0x10"},
			{`repost_quota_limit{subscription="123-ABC-456",pod="a"}`, "0+0x10"},
		}, 10, nil}, // no limit configured: no division by zero alert
		{"RepostRetriesExhausted", []seriesSpec{
			{`repost_retries_exhausted_total{subscription="123-ABC-456",pod="a"}`, "0+0x20"},
			{`repost_retries_exhausted_total{subscription="456-DEF-789",pod="a"}`, "3+0x20"},
			{`repost_retries_exhausted_total{subscription="456-DEF-789",pod="b"}`, "0+1x20"},
		}, 20, []string{`{subscription="456-DEF-789"}`}},
		{"RepostNoProgress", []seriesSpec{
			{`repost_backlog_events{subscription="123-ABC-456",pod="a"}`, "500+0x40"},
			{`repost_backlog_events{subscription="123-ABC-456",pod="b"}`, "500+0x40"},
			{`repost_events_total{subscription="123-ABC-456",outcome="reposted",code="0",pod="a"}`, "70+0x40"},
			{`repost_backlog_events{subscription="456-DEF-789",pod="a"}`, "500+0x40"}, // no outcome ever
		}, 40, []string{`{subscription="123-ABC-456"}`, `{subscription="456-DEF-789"}`}},
		{"RepostNoProgress", []seriesSpec{
			{`repost_backlog_events{subscription="123-ABC-456",pod="a"}`, "500+0x40"},
			{`repost_events_total{subscription="123-ABC-456",outcome="reposted",code="0",pod="a"}`, "0+10x30"},
		}, 40, nil}, // outcomes stopped 10 minutes ago: not yet 15 + 10
		{"RepostNoProgress", []seriesSpec{
			{`repost_backlog_events{subscription="123-ABC-456",pod="a"}`, "500+0x40"},
			{`repost_events_total{subscription="123-ABC-456",outcome="reposted",code="0",pod="a"}`, "0+10x14"},
		}, 40, []string{`{subscription="123-ABC-456"}`}}, // stopped 26 minutes ago
		{"RepostNoProgress", []seriesSpec{
			{`repost_backlog_events{subscription="123-ABC-456",pod="a"}`, "5000+-10x40"},
			{`repost_events_total{subscription="123-ABC-456",outcome="reposted",code="0",pod="a"}`, "0+10x40"},
			{`repost_backlog_events{subscription="456-DEF-789",pod="a"}`, "0+0x40"},
		}, 40, nil}, // draining, and an empty backlog
		{"RepostNoProgress", []seriesSpec{
			{`repost_backlog_events{subscription="123-ABC-456",pod="a"}`, "500+0x40"},
			{`repost_subscription_halted{subscription="123-ABC-456",pod="a"}`, "1+0x40"},
			{`repost_backlog_events{subscription="456-DEF-789",pod="a"}`, "500+0x40"},
			{`repost_subscription_paused{subscription="456-DEF-789",pod="a"}`, "1+0x40"},
			{`repost_backlog_events{subscription="789-GHI-012",pod="a"}`, "500+0x40"},
			{`repost_quota_used{subscription="789-GHI-012",pod="a"}`, "50000+0x40"},
			{`repost_quota_limit{subscription="789-GHI-012",pod="a"}`, "50000+0x40"},
		}, 40, nil}, // halted, paused, out of quota: their own alerts
		{"RepostNoProgress", []seriesSpec{
			{`repost_backlog_events{subscription="123-ABC-456",pod="a"}`, "500+0x40"},
			{`repost_quota_used{subscription="123-ABC-456",pod="a"}`, "5+0x40"},
			{`repost_quota_limit{subscription="123-ABC-456",pod="a"}`, "0+0x40"},
		}, 40, []string{`{subscription="123-ABC-456"}`}}, // no quota configured is not "out of quota"
		// time() is the evaluation time: minute m is 60m seconds.
		{"RepostPausedPastUntil", []seriesSpec{
			{`repost_subscription_paused{subscription="123-ABC-456",pod="a"}`, "1+0x20"},
			{`repost_subscription_pause_until_seconds{subscription="123-ABC-456",pod="a"}`, "300+0x20"},
			{`repost_subscription_paused{subscription="456-DEF-789",pod="a"}`, "1+0x20"}, // until resumed
			{`repost_subscription_pause_until_seconds{subscription="456-DEF-789",pod="a"}`, "0+0x20"},
			{`repost_subscription_paused{subscription="789-GHI-012",pod="a"}`, "0+0x20"}, // lifted on time
			{`repost_subscription_pause_until_seconds{subscription="789-GHI-012",pod="a"}`, "300+0x20"},
		}, 14, []string{`{subscription="123-ABC-456"}`}},
		{"RepostPausedPastUntil", []seriesSpec{
			{`repost_subscription_paused{subscription="123-ABC-456",pod="a"}`, "1+0x20"},
			{`repost_subscription_pause_until_seconds{subscription="123-ABC-456",pod="a"}`, "300+0x20"},
		}, 11, nil}, // 6 minutes past --until: 2 minutes' grace, then 5 held
		{"RepostRedisUnreachable", []seriesSpec{
			{`repost_limits_store_up{pod="a"}`, "1+0x2 0+0x5"},
			{`repost_limits_store_up{pod="b"}`, "1+0x8"},
		}, 6, []string{`{pod="a"}`}},
		{"RepostRedisUnreachable", []seriesSpec{
			{`repost_limits_store_up{pod="a"}`, "1+0x4 0+0x2"},
		}, 6, nil}, // down for a minute only
		{"RepostEventsNearExpiry", []seriesSpec{
			{`repost_oldest_event_age_seconds{subscription="123-ABC-456",pod="a"}`, "605000+60x40"},
			{`repost_oldest_event_age_seconds{subscription="123-ABC-456",pod="b"}`, "605000+60x40"},
			{`repost_oldest_event_age_seconds{subscription="456-DEF-789",pod="a"}`, "3600+60x40"},
		}, 40, []string{`{subscription="123-ABC-456"}`}}, // past 7 days for 30 minutes: one alert, not one per pod
		{"RepostEventsNearExpiry", []seriesSpec{
			{`repost_oldest_event_age_seconds{subscription="123-ABC-456",pod="a"}`, "600000+0x40"},
		}, 40, nil}, // just under 7 days: not yet
		{"RepostWorkerAbsent", []seriesSpec{
			{`repost_events_total{subscription="123-ABC-456",outcome="reposted",code="0"}`, "0+1x20"},
		}, 20, []string{`{}`}},
		{"RepostWorkerAbsent", []seriesSpec{
			{`repost_build_info{version="v1",pod="a"}`, "1+0x20"},
		}, 20, nil},
		{"RepostLimitsStateLost", []seriesSpec{
			{`repost_limits_state_lost_total{subscription="123-ABC-456",pod="a"}`, "0+0x30"},
			{`repost_limits_state_lost_total{subscription="123-ABC-456",pod="b"}`, "0+1x30"},
			{`repost_limits_state_lost_total{subscription="456-DEF-789",pod="a"}`, "2+0x30"},
		}, 30, []string{`{subscription="123-ABC-456"}`}}, // a loss within the hour; old ones do not fire
		{"RepostNATSDisconnected", []seriesSpec{
			{`repost_nats_connected{instance="a"}`, "0+0x5"},
			{`repost_nats_connected{instance="b"}`, "1+0x5"},
		}, 5, []string{`{instance="a"}`}}, // one alert per replica cut off
		{"RepostNATSDisconnected", []seriesSpec{
			{`repost_nats_connected{instance="a"}`, "1+-1x1"},
		}, 1, nil}, // down since the last sample only: not yet a minute
	}
	rules := map[string]struct {
		expr string
		hold time.Duration
	}{}
	for _, r := range mustRules(t) {
		rules[r.Alert] = struct {
			expr string
			hold time.Duration
		}{r.Expr, time.Duration(r.For)}
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.alert, i), func(t *testing.T) {
			r, ok := rules[tt.alert]
			if !ok {
				t.Fatalf("no alert %s", tt.alert)
			}
			got := firing(t, r.expr, r.hold, memQueryable(mustSeries(t, tt.series)), tt.at)
			if !slices.Equal(got, tt.want) {
				t.Errorf("firing at minute %d = %q, want %q", tt.at, got, tt.want)
			}
		})
	}
}
