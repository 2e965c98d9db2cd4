package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

type fakeLimiter struct{ calls int }

func (f fakeLimiter) Snapshot(_ context.Context, sub string, lim quota.Limits) (quota.Snapshot, error) {
	return quota.Snapshot{Subscription: sub, CallsInWindow: f.calls, WindowLimit: lim.CallsPerWindow}, nil
}

func fakeStatus(n *atomic.Int64) Source {
	return SourceFunc(func(context.Context) (Status, error) {
		n.Add(1)
		return Status{At: time.Now(), NATS: Endpoint{Status: "connected"}, Redis: Endpoint{Status: "connected"},
			Subs: []SubStatus{{ID: fixture.Sub, Backlog: 42, Limits: &Limits{CallsInWindow: 7, WindowLimit: 100,
				Window: 20 * time.Second, QuotaUsed: 250, QuotaLimit: 50000, ResetAt: time.Now().Add(3 * time.Hour)}}}}, nil
	})
}

// mustConsole serves a console over an embedded NATS holding one parked
// lead of fixture's 1006 kind.
func mustConsole(t *testing.T, show bool, n *atomic.Int64) (*httptest.Server, *Console) {
	t.Helper()
	q := testenv.Queue(t, testenv.NATS(t).URL, queue.Options{})
	ev := fixture.Build(1, "field-role", time.Now().Add(-time.Minute), fixture.Sub)
	entry, err := repost.NewParkedLead(ev.Data, repost.ParkInfo{Code: policy.Code("1006"), Reason: "Field 'role' not found",
		Field: "role", Attempts: 1, ParkedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	b := q.NewBatch()
	b.Failed(fixture.Sub, ev.ID, ev.Data)
	b.Parked(fixture.Sub, ev.ID, entry)
	b.Outcome(&repost.Outcome{EventID: ev.ID, LeadID: "L-1", Subscription: fixture.Sub, Kind: repost.KindParked,
		Code: policy.Code("1006"), Reason: "Field 'role' not found", Attempts: 1, At: time.Now()})
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := New(q, fakeLimiter{calls: 7}, fakeStatus(n), Config{ShowLeadData: show,
		Subs: []Sub{{ID: fixture.Sub, Limits: quota.Limits{CallsPerWindow: 100}}}, SampleEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go c.Run(ctx)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return srv, c
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r, string(b)
}

func TestPagesHeadersAndHiddenLeadData(t *testing.T) {
	var n atomic.Int64
	srv, _ := mustConsole(t, false, &n)
	email := fixture.Email(1)
	for _, path := range []string{"/ui/", "/ui/sub/" + fixture.Sub, "/ui/sub/" + fixture.Sub + "/parked?code=1006&field=role"} {
		r, body := get(t, srv.URL+path)
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, r.StatusCode, body)
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: X-Frame-Options %q", path, r.Header.Get("X-Frame-Options"))
		}
		if strings.Contains(body, email) || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("GET %s: lead data or an external URL in the page", path)
		}
		if !strings.Contains(body, "repostctl ") {
			t.Errorf("GET %s: no repostctl command shown", path)
		}
	}
	_, body := get(t, srv.URL+"/ui/sub/"+fixture.Sub+"/parked?code=1006&field=role")
	for _, want := range []string{"Field &#39;role&#39; not found", "= <span class=\"redacted\">hidden</span>", "published", "parked</b> code 1006",
		"repostctl parked requeue --subscription " + fixture.Sub + " --code 1006 --field role --dry-run"} {
		if !strings.Contains(body, want) {
			t.Errorf("group page lacks %q:\n%s", want, body)
		}
	}
	_, body = get(t, srv.URL+"/ui/sub/"+fixture.Sub)
	for _, want := range []string{`class="limit" data-limit="100"`, `data-code="1006" data-field="role"`, `<td class="n count">1</td>`, `data-used="250"`} {
		if !strings.Contains(body, want) {
			t.Errorf("subscription page lacks %q", want)
		}
	}
	if r, _ := get(t, srv.URL+"/ui/sub/999-ZZZ-999"); r.StatusCode != 404 {
		t.Errorf("unconfigured subscription: %d, want 404", r.StatusCode)
	}
}

func TestShowLeadData(t *testing.T) {
	var n atomic.Int64
	srv, _ := mustConsole(t, true, &n)
	_, body := get(t, srv.URL+"/ui/sub/"+fixture.Sub+"/parked?code=1006&field=role")
	if !strings.Contains(body, fixture.Email(1)) {
		t.Errorf("showLeadData: the lead's email is not shown:\n%s", body)
	}
}

func TestConcurrentViewersShareOneSnapshotPerSecond(t *testing.T) {
	var n atomic.Int64
	srv, c := mustConsole(t, false, &n)
	start := time.Now()
	var wg sync.WaitGroup
	for v := 0; v < 20; v++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				r, err := http.Get(srv.URL + "/ui/")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	got := int(n.Load())
	if limit := 1 + int(elapsed/time.Second); got > limit || got != c.Collections() {
		t.Errorf("200 views over %s caused %d collections (console counted %d), want at most %d", elapsed, got, c.Collections(), limit)
	}
}

func TestChartDrawsLimitAndSamples(t *testing.T) {
	now := time.Now()
	s := []Sample{{At: now.Add(-time.Minute), Calls: 40, Limit: 100, OK: true}, {At: now, Calls: 90, Limit: 100, OK: true}}
	svg := string(callsChart(s, 100, 10*time.Minute, now))
	for _, want := range []string{`class="limit" data-limit="100"`, `class="calls"`, "-10m", "now"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q: %s", want, svg)
		}
	}
}
