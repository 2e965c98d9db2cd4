package deployments

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

const (
	alertsFile    = "prometheus/alerts.yaml"
	dashboardFile = "grafana/repost-dashboard.json"
	runbookFile   = "../docs/operations.md"
	runbookURL    = "https://github.com/leadops/repost/blob/main/docs/operations.md#"
)

func mustRules(tb testing.TB) []rulefmt.Rule {
	tb.Helper()
	groups, errs := rulefmt.ParseFile(alertsFile, false, model.LegacyValidation, promqlParser, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		tb.Fatal(errors.Join(errs...))
	}
	var rules []rulefmt.Rule
	for _, g := range groups.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name    string
		rules   string
		want    []string
		wantErr bool
	}{
		{name: "names as written", rules: `groups: [{name: g, rules: [
  {alert: A, expr: "sum by (le) (rate(b_bucket[5m])) > 1 and a_total > 0"},
  {record: "r:x", expr: "{__name__=\"c\"}"}]}]`, want: []string{"a_total", "b_bucket", "c"}},
		{name: "unknown field", rules: `groups: [{name: g, rules: [{alert: A, expr: "a > 0", runbook: x}]}]`, wantErr: true},
		{name: "bad promql", rules: `groups: [{name: g, rules: [{alert: A, expr: "sum by (a) (rate(x[5m])"}]}]`, wantErr: true},
		{name: "bad template", rules: `groups: [{name: g, rules: [{alert: A, expr: "a > 0", annotations: {summary: "{{ $labels.x "}}]}]`, wantErr: true},
		{name: "regex name", rules: `groups: [{name: g, rules: [{alert: A, expr: "{__name__=~\"repost_.*\"} > 0"}]}]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(file, []byte(tt.rules), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := MetricNames(file)
			var fe *FileError
			if (err != nil) != tt.wantErr || (err != nil && !errors.As(err, &fe)) {
				t.Fatalf("MetricNames() error = %v, wantErr %v (a *FileError)", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("MetricNames() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDashboardMetricNames(t *testing.T) {
	file := filepath.Join(t.TempDir(), "d.json")
	dash := `{"panels": [{"targets": [{"expr": "rate(a_total{s=~\"$s\"}[$__rate_interval])"}]}],
	  "templating": {"list": [{"query": {"query": "label_values(b, subscription)"}}]}}`
	if err := os.WriteFile(file, []byte(dash), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := DashboardMetricNames(file)
	if err != nil || !slices.Equal(got, []string{"a_total", "b"}) {
		t.Errorf("DashboardMetricNames() = %v, %v; want [a_total b]", got, err)
	}
	if err := os.WriteFile(file, []byte(`{"panels": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := DashboardMetricNames(file); err == nil {
		t.Error("a dashboard without queries passed")
	}
}

// TestAlertRules: the alerts the issues asked for, with the thresholds they name,
// and every alert with a summary, a description and a runbook section that
// says which repostctl command to run.
func TestAlertRules(t *testing.T) {
	sections := markdownSections(t, runbookFile)
	required := []struct {
		alert  string
		metric string
		expr   string
		hold   time.Duration
	}{
		{"RepostSubscriptionHalted", "repost_subscription_halted", "== 1", 5 * time.Minute},
		{"RepostParkedGrowing", "repost_parked_total", "increase(repost_parked_total[1h])", 0},
		{"RepostQuotaAbove90Percent", "repost_quota_used", "> 0.9", 0},
		{"RepostRetriesExhausted", "repost_retries_exhausted_total", "increase(repost_retries_exhausted_total[15m])) > 0", 0},
		{"RepostNoProgress", "repost_backlog_events", "unless on (subscription) sum by (subscription) (increase(repost_events_total[15m])) > 0", 10 * time.Minute},
		{"RepostPausedPastUntil", "repost_subscription_pause_until_seconds", "time() - max by (subscription) (repost_subscription_pause_until_seconds)", 5 * time.Minute},
		{"RepostEventsNearExpiry", "repost_oldest_event_age_seconds", "> 7 * 86400", 30 * time.Minute},
	}
	rules := mustRules(t)
	byName := map[string]rulefmt.Rule{}
	for _, r := range rules {
		byName[r.Alert] = r
	}
	for _, req := range required {
		r, ok := byName[req.alert]
		if !ok {
			t.Errorf("no alert %s", req.alert)
			continue
		}
		if !strings.Contains(r.Expr, req.metric) || !strings.Contains(r.Expr, req.expr) {
			t.Errorf("%s: expr %q, want %s with %q", req.alert, r.Expr, req.metric, req.expr)
		}
		if time.Duration(r.For) < req.hold {
			t.Errorf("%s: for %v, want at least %v", req.alert, r.For, req.hold)
		}
	}
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		checkAlertDocs(t, r, sections)
	}
}

func checkAlertDocs(t *testing.T, r rulefmt.Rule, sections map[string]string) {
	t.Helper()
	for _, a := range []string{"summary", "description"} {
		if strings.TrimSpace(r.Annotations[a]) == "" {
			t.Errorf("%s: no %s", r.Alert, a)
		}
	}
	if s := r.Labels["severity"]; s != "critical" && s != "warning" {
		t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
	}
	anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbookURL)
	if !ok {
		t.Errorf("%s: runbook_url %q does not start with %s", r.Alert, r.Annotations["runbook_url"], runbookURL)
		return
	}
	section, ok := sections[anchor]
	if !ok {
		t.Errorf("%s: runbook anchor #%s is not a heading of docs/operations.md", r.Alert, anchor)
		return
	}
	if !strings.Contains(section, "repostctl ") {
		t.Errorf("%s: runbook section #%s names no repostctl command", r.Alert, anchor)
	}
}

// markdownSections maps each heading's GitHub anchor to the text under it,
// up to the next heading of the same or a higher level.
func markdownSections(tb testing.TB, file string) map[string]string {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	type open struct {
		anchor string
		level  int
		start  int
	}
	lines := strings.Split(string(data), "\n")
	out := map[string]string{}
	var stack []open
	fence := false
	closeTo := func(level, end int) {
		for len(stack) > 0 && stack[len(stack)-1].level >= level {
			o := stack[len(stack)-1]
			out[o.anchor] = strings.Join(lines[o.start:end], "\n")
			stack = stack[:len(stack)-1]
		}
	}
	for i, line := range lines {
		if strings.HasPrefix(line, "```") {
			fence = !fence
		}
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if fence || level == 0 || level > 6 || !strings.HasPrefix(line[level:], " ") {
			continue
		}
		closeTo(level, i)
		stack = append(stack, open{anchor: githubAnchor(line[level+1:]), level: level, start: i + 1})
	}
	closeTo(1, len(lines))
	return out
}

// githubAnchor is the id GitHub gives a heading: lower case, punctuation
// other than '-' and '_' removed, spaces to '-'.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestGithubAnchor(t *testing.T) {
	tests := []struct{ heading, want string }{
		{"RepostSubscriptionHalted", "repostsubscriptionhalted"},
		{"Production NATS (JetStream R3)", "production-nats-jetstream-r3"},
		{"Shutdown order: what SIGTERM does", "shutdown-order-what-sigterm-does"},
	}
	for _, tt := range tests {
		if got := githubAnchor(tt.heading); got != tt.want {
			t.Errorf("githubAnchor(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

// TestDashboard: the panels the issue lists are there, every panel has a
// unique id and every query the dashboard's data source variable.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Datasource struct{ UID string } `json:"datasource"`
				Expr       string               `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: datasource %q, want ${datasource}", p.Title, tg.Datasource.UID)
			}
		}
	}
	names, err := DashboardMetricNames(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]bool{}
	for _, n := range names {
		families[FamilyName(n)] = true
	}
	for _, want := range []string{"repost_events_total", "repost_marketo_calls_total", "repost_leads_per_call",
		"repost_admission_wait_seconds", "repost_quota_used", "repost_quota_limit", "repost_parked_total",
		"repost_inflight_events", "repost_subscription_halted", "repost_subscription_paused", "repost_backlog_events",
		"repost_nats_connected", "repost_limits_store_up", "repost_oldest_event_age_seconds"} {
		if !families[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
}
