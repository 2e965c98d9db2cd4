package deployments

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// designMetric is one row of docs/DESIGN.md's metrics table.
type designMetric struct {
	kind   string // counter, gauge, histogram
	labels map[string]bool
}

var (
	backticked = regexp.MustCompile("`([a-z_:][a-z0-9_:]*)`")
	labelWord  = regexp.MustCompile(`^\s*([a-z_][a-z0-9_]*)`)
)

// designMetrics reads the metrics table of docs/DESIGN.md ("## Metrics"):
// the names the worker exports and that alerts and dashboard may use.
func designMetrics(tb testing.TB) map[string]designMetric {
	tb.Helper()
	data, err := os.ReadFile("../docs/DESIGN.md")
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]designMetric{}
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## Metrics")
			continue
		}
		cells := strings.Split(line, "|")
		if !in || len(cells) < 5 {
			continue
		}
		m := designMetric{kind: strings.Fields(cells[2] + " ?")[0], labels: map[string]bool{}}
		for _, l := range strings.Split(cells[3], ",") {
			if w := labelWord.FindStringSubmatch(strings.Trim(l, " `")); w != nil {
				m.labels[w[1]] = true
			}
		}
		for _, name := range backticked.FindAllStringSubmatch(cells[1], -1) {
			out[name[1]] = m
		}
	}
	if len(out) == 0 {
		tb.Fatal("docs/DESIGN.md: no metrics table under \"## Metrics\"")
	}
	return out
}

// targetLabels are added by Prometheus or the Kubernetes service discovery,
// not by the worker.
var targetLabels = map[string]bool{
	"job": true, "instance": true, "namespace": true, "pod": true,
	"container": true, "service": true, "endpoint": true,
}

// lookupSeries resolves a series name used in a query against the design
// table: a histogram only through its _bucket, _sum and _count series, and
// _bucket adds the le label.
func lookupSeries(design map[string]designMetric, name string) (designMetric, bool) {
	if m, ok := design[name]; ok {
		return m, m.kind != "histogram"
	}
	m, ok := design[FamilyName(name)]
	if !ok || m.kind != "histogram" {
		return designMetric{}, false
	}
	if strings.HasSuffix(name, "_bucket") {
		labels := map[string]bool{"le": true}
		for l := range m.labels {
			labels[l] = true
		}
		m.labels = labels
	}
	return m, true
}

func TestDesignMetricsTable(t *testing.T) {
	design := designMetrics(t)
	tests := []struct {
		name  string
		kind  string
		label string
	}{
		{"repost_events_total", "counter", "outcome"},
		{"repost_quota_used", "gauge", "subscription"},
		{"repost_quota_limit", "gauge", "subscription"},
		{"repost_leads_per_call", "histogram", "subscription"},
		{"repost_marketo_calls_total", "counter", "code"},
	}
	for _, tt := range tests {
		m, ok := design[tt.name]
		if !ok || m.kind != tt.kind || !m.labels[tt.label] {
			t.Errorf("%s: got %+v (found %v), want a %s with label %s", tt.name, m, ok, tt.kind, tt.label)
		}
	}
	for _, tt := range []struct {
		series string
		want   bool
	}{
		{"repost_leads_per_call_bucket", true},
		{"repost_leads_per_call_count", true},
		{"repost_leads_per_call", false},
		{"repost_events_total_bucket", false},
		{"repost_events", false},
	} {
		if _, got := lookupSeries(design, tt.series); got != tt.want {
			t.Errorf("lookupSeries(%s) = %v, want %v", tt.series, got, tt.want)
		}
	}
}
