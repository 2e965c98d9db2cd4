package deployments

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestQueriesUseDesignMetrics: every series the alert rules and the dashboard
// select is in DESIGN.md's metrics table (histograms through _bucket, _sum or
// _count), and every label they match or group on is one of those metrics'
// labels or a scrape target label.
func TestQueriesUseDesignMetrics(t *testing.T) {
	design := designMetrics(t)
	var exprs []string
	for _, r := range mustRules(t) {
		exprs = append(exprs, r.Expr)
	}
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	exprs = append(exprs, dashboardQueries(dash, nil)...)
	for _, expr := range exprs {
		for _, msg := range queryProblems(design, expr) {
			t.Errorf("%s: %s", expr, msg)
		}
	}
	// And through the exported helpers a later scrape test will use.
	for _, names := range []func(string) ([]string, error){MetricNames, DashboardMetricNames} {
		for _, file := range []string{alertsFile, dashboardFile} {
			got, err := names(file)
			if err != nil {
				continue // each helper reads one of the two formats
			}
			for _, n := range got {
				if _, ok := lookupSeries(design, n); !ok {
					t.Errorf("%s: %s is not in DESIGN.md's metrics table", file, n)
				}
			}
		}
	}
}

// queryProblems checks one PromQL expression against the design table.
func queryProblems(design map[string]designMetric, expr string) problems {
	var p problems
	node, err := promqlParser.ParseExpr(expr)
	if err != nil {
		p.add("%v", err)
		return p
	}
	known := map[string]bool{}
	for l := range targetLabels {
		known[l] = true
	}
	var grouping []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			checkSelector(&p, design, n, known)
		case *parser.AggregateExpr:
			grouping = append(grouping, n.Grouping...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				grouping = append(grouping, n.VectorMatching.MatchingLabels...)
				grouping = append(grouping, n.VectorMatching.Include...)
			}
		}
		return nil
	})
	for _, l := range grouping {
		if !known[l] {
			p.add("groups or matches on label %q, which none of its metrics has", l)
		}
	}
	return p
}

func checkSelector(p *problems, design map[string]designMetric, vs *parser.VectorSelector, known map[string]bool) {
	name, err := selectorName(vs)
	if err != nil {
		p.add("%v", err)
		return
	}
	m, ok := lookupSeries(design, name)
	if !ok {
		p.add("%s is not in DESIGN.md's metrics table (histograms only as _bucket, _sum, _count)", name)
		return
	}
	for l := range m.labels {
		known[l] = true
	}
	for _, lm := range vs.LabelMatchers {
		if lm.Name != model.MetricNameLabel && !m.labels[lm.Name] && !targetLabels[lm.Name] {
			p.add("%s has no label %q", name, lm.Name)
		}
	}
}

func TestQueryProblems(t *testing.T) {
	design := designMetrics(t)
	tests := []struct {
		name    string
		expr    string
		wantErr bool
	}{
		{name: "table metric", expr: `sum by (subscription) (rate(repost_events_total{outcome="parked"}[5m]))`},
		{name: "histogram bucket", expr: `histogram_quantile(0.9, sum by (le) (rate(repost_leads_per_call_bucket[5m])))`},
		{name: "target label", expr: `repost_inflight_events{pod="x"}`},
		{name: "unknown metric", expr: `repost_events{outcome="parked"}`, wantErr: true},
		{name: "histogram family", expr: `repost_leads_per_call`, wantErr: true},
		{name: "unknown matcher label", expr: `repost_quota_used{sub="x"}`, wantErr: true},
		{name: "unknown grouping label", expr: `sum by (reason) (repost_parked_total)`, wantErr: true},
		{name: "le without bucket", expr: `sum by (le) (repost_leads_per_call_sum)`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := queryProblems(design, tt.expr)
			if (len(got) > 0) != tt.wantErr {
				t.Errorf("queryProblems() = %q, wantErr %v", got, tt.wantErr)
			}
		})
	}
}
