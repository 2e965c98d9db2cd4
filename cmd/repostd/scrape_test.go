package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost/deployments"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
)

// Every metric the alert rules and the dashboard name is one a running
// worker exports.
func TestAlertAndDashboardMetricsAreExported(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	cfg := demoConfig(t.TempDir(), sim.URL)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, zap.NewNop(), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	events := fixture.Mix(300, 3, time.Now().Add(-time.Hour))
	b := a.q.NewBatch()
	for _, e := range events {
		b.Failed(e.Sub, e.ID, e.Data)
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	url := "http://" + a.ln.Addr().String() + "/metrics"
	var scrape string
	testenv.CheckFor(t, 30*time.Second, func() error {
		scrape = get(url)
		if !strings.Contains(scrape, `repost_events_total{code="0",outcome="reposted"`) {
			return fmt.Errorf("no reposted events yet")
		}
		return nil
	})
	ui := get("http://" + a.ln.Addr().String() + "/ui/sub/" + fixture.Sub)
	for _, want := range []string{`class="limit" data-limit="100"`, "parked groups", "repostctl status " + fixture.Sub} {
		if !strings.Contains(strings.ToLower(ui), strings.ToLower(want)) {
			t.Errorf("console page lacks %q:\n%s", want, ui)
		}
	}
	exported := map[string]bool{}
	for _, line := range strings.Split(scrape, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		exported[name] = true
		exported[deployments.FamilyName(name)] = true
	}
	rules, err := deployments.MetricNames("../../deployments/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dash, err := deployments.DashboardMetricNames("../../deployments/grafana/repost-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(rules, dash...) {
		if !exported[name] && !exported[deployments.FamilyName(name)] {
			t.Errorf("%s is named by the alerts or dashboard but not exported by the worker", name)
		}
	}
	if len(rules) < 4 {
		t.Errorf("only %d metrics in the alert rules", len(rules))
	}
}

func get(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
