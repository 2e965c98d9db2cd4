package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/browser"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
)

// The console in Debian's chromium, headless, driven by chromedp: the
// overview refreshes itself in place to the figures of the drained mix
// (keeping its scroll position), the subscription page draws the limit
// line and lists the parked groups, the group page pages its leads with
// their parked block and story and hides lead data; no request leaves the
// origin, and the pages work with JavaScript off.
func TestConsoleInBrowser(t *testing.T) {
	bctx := browser.ForTest(t, 1280, 360) // low: the overview must scroll
	sim := marketotest.NewServer(marketotest.Options{Latency: 50 * time.Millisecond})
	t.Cleanup(sim.Close)
	cfg := demoConfig(t.TempDir(), sim.URL)
	cfg.HTTP.UI.Refresh = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, zap.NewNop(), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	outs := mustCollectOutcomes(t, a.q)
	origin := "http://" + a.ln.Addr().String()

	bctx, bcancel := context.WithTimeout(bctx, 90*time.Second)
	defer bcancel()
	var requests []string
	var rmu sync.Mutex
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			rmu.Lock()
			requests = append(requests, e.Request.URL)
			rmu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	row := `document.querySelector('tr.sub[data-sub="` + fixture.Sub + `"]')`

	// The overview is open, scrolled down, before the events arrive.
	do("open the overview", chromedp.Navigate(origin+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`tr.sub`)))
	if y := eval[float64](t, bctx, `window.notReloaded = true; window.scrollTo(0, 90); window.scrollY`); y != 90 {
		t.Fatalf("the overview does not scroll in a 360 px window (scrollY %v)", y)
	}
	const n = 300
	events := fixture.Mix(n, 3, time.Now().Add(-time.Hour))
	b := a.q.NewBatch()
	for _, e := range events {
		b.Failed(e.Sub, e.ID, e.Data)
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.CheckFor(t, 30*time.Second, func() error {
		if got := outs.count(); got < n {
			return fmt.Errorf("%d of %d events have their outcome", got, n)
		}
		return nil
	})
	reposted, parked := outs.of(fixture.Sub, repost.KindReposted), outs.of(fixture.Sub, repost.KindParked)
	if reposted == 0 || parked == 0 {
		t.Fatalf("the mix gave %d reposted and %d parked", reposted, parked)
	}

	// It refreshes itself to the drained figures, without a reload and
	// without losing the scroll position.
	final := fmt.Sprintf(`(() => { const r = %s; return !!r && r.querySelector('td.backlog').textContent.trim() === "0" &&
		r.querySelector('td.reposted').textContent.trim() === "%d" && r.querySelector('td.parked').textContent.trim() === "%d"; })()`,
		row, reposted, parked)
	do("wait for the overview to show the drained mix", poll(final, 30*time.Second))
	ov := eval[struct {
		Rows        int    `json:"rows"`
		ScrollY     int    `json:"scrollY"`
		NotReloaded bool   `json:"notReloaded"`
		Refreshed   string `json:"refreshed"`
		Cmd         string `json:"cmd"`
		HTML        string `json:"html"`
	}](t, bctx, `({rows: document.querySelectorAll('#subs tbody tr.sub').length, scrollY: window.scrollY,
		notReloaded: window.notReloaded === true, refreshed: document.body.dataset.refreshed || "",
		cmd: [...document.querySelectorAll('pre.cmd')].map(e => e.textContent).join("\n"), html: document.documentElement.outerHTML})`)
	if ov.Rows != 1 || !ov.NotReloaded || ov.Refreshed == "" || ov.ScrollY != 90 {
		t.Errorf("overview: %d rows (want 1: the unknown subscription is not configured), kept in place %v, refreshed %q, scrollY %d (want 90)",
			ov.Rows, ov.NotReloaded, ov.Refreshed, ov.ScrollY)
	}
	if !strings.Contains(ov.Cmd, "repostctl status --watch") {
		t.Errorf("overview shows no repostctl command: %q", ov.Cmd)
	}
	noLeadData(t, "overview", ov.HTML)
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot the overview: %v", err)
	}
	savePNG(t, shot)

	// One subscription: the chart with its limit line, the quota bar, the
	// parked groups as the parked stream holds them (rejected events are
	// parked too, under the code invalid).
	wantGroups := parkedGroups(t, a.q, fixture.Sub)
	rejected := outs.of(fixture.Sub, repost.KindRejected)
	if total := sumGroups(wantGroups); total != parked+rejected || wantGroups["invalid/"] != rejected {
		t.Fatalf("the parked stream holds %d leads of %s (%v), the outcomes say %d parked and %d rejected", total, fixture.Sub, wantGroups, parked, rejected)
	}
	groupsJS := `[...document.querySelectorAll('#groups tr.group')].map(r => r.dataset.code + "/" + r.dataset.field + "=" +
		r.querySelector('td.count').textContent.trim()).sort().join(" ")`
	do("open the subscription", chromedp.Click(chromedp.CSS(`tr.sub a`)), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
		poll(fmt.Sprintf(`(%s) === %q && !!document.querySelector('polyline.calls')`, groupsJS, groupsText(wantGroups)), 20*time.Second))
	sp := eval[struct {
		Limit string  `json:"limit"`
		Y1    float64 `json:"y1"`
		Y2    float64 `json:"y2"`
		Axis  float64 `json:"axis"`
		Used  int     `json:"used"`
		State string  `json:"state"`
		Reset string  `json:"reset"`
		Cmd   string  `json:"cmd"`
		HTML  string  `json:"html"`
	}](t, bctx, `(() => { const l = document.querySelector('svg.chart line.limit'),
		x = document.querySelector('svg.chart line.axis'), q = document.querySelector('svg.quota rect.used');
		return {limit: l.dataset.limit, y1: l.y1.baseVal.value, y2: l.y2.baseVal.value, axis: x.y1.baseVal.value,
			used: +q.dataset.used, state: document.querySelector('#state').textContent.trim(),
			reset: document.querySelector('#reset').textContent.trim(),
			cmd: [...document.querySelectorAll('pre.cmd')].map(e => e.textContent).join("\n"), html: document.documentElement.outerHTML}; })()`)
	if sp.Limit != "100" || sp.Y1 != sp.Y2 || sp.Y1 >= sp.Axis {
		t.Errorf("limit line: data-limit %q, y1 %v y2 %v, axis at %v: want a level line at 100 above the axis", sp.Limit, sp.Y1, sp.Y2, sp.Axis)
	}
	if sp.Used <= 0 || sp.Reset == "" || sp.State != "running" {
		t.Errorf("quota bar used %d, reset %q, state %q", sp.Used, sp.Reset, sp.State)
	}
	if !strings.Contains(sp.Cmd, "repostctl parked summary --subscription "+fixture.Sub) {
		t.Errorf("subscription page commands: %q", sp.Cmd)
	}
	noLeadData(t, "subscription", sp.HTML)

	// One parked group: its leads, paged, parked block and story; the
	// lead data hidden.
	role := wantGroups["1006/role"]
	if role <= 20 {
		t.Fatalf("only %d leads parked on 1006 role: the group does not page", role)
	}
	do("open the 1006 role group", chromedp.Click(chromedp.CSS(`tr.group[data-code="1006"][data-field="role"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`article.lead`)))
	page1 := readGroup(t, bctx)
	if page1.Count != fmt.Sprint(role) || page1.Leads != 20 || page1.Parked != 20 || page1.Stories != 20 ||
		page1.Redacted < 20 || page1.Data != 0 || !page1.Next {
		t.Errorf("group page 1: %+v, want count %d, 20 leads each with its parked block, a parked step in its story, no lead data, a next link", page1, role)
	}
	if want := "repostctl parked requeue --subscription " + fixture.Sub + " --code 1006 --field role --dry-run"; !strings.Contains(page1.Cmd, want) {
		t.Errorf("group page lacks %q: %q", want, page1.Cmd)
	}
	noLeadData(t, "group", page1.HTML)
	scrolled := eval[int](t, bctx, `window.notReloaded = true; window.scrollTo(0, 700);
		window.before = document.body.dataset.refreshed || ""; window.scrollY`)
	do("let the group page refresh", poll(`(document.body.dataset.refreshed || "") !== window.before`, 10*time.Second))
	if after := eval[int](t, bctx, `window.notReloaded === true ? window.scrollY : -1`); scrolled != 700 || after != 700 {
		t.Errorf("group page scrolled to %d, %d after its refresh (want 700: in place, same position)", scrolled, after)
	}
	do("next page", chromedp.Click(chromedp.CSS(`a[rel="next"]`)), chromedp.WaitVisible(chromedp.CSS(`a[rel="prev"]`)))
	if page2 := readGroup(t, bctx); page2.Leads != min(20, role-20) || page2.First == page1.First {
		t.Errorf("group page 2: %d leads from %s, want %d others", page2.Leads, page2.First, min(20, role-20))
	}

	// With JavaScript off the same pages are complete, without the refresh.
	if _, err := chromedp.Call(bctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	do("subscription without JavaScript", chromedp.Navigate(origin+"/ui/sub/"+fixture.Sub), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)))
	nojs := eval[struct {
		Limits    []string `json:"limits"`
		Groups    int      `json:"groups"`
		Refreshed string   `json:"refreshed"`
	}](t, bctx, `({limits: [...document.querySelectorAll('svg.chart line.limit')].map(l => l.dataset.limit),
		groups: document.querySelectorAll('#groups tr.group').length, refreshed: document.body.dataset.refreshed || ""})`)
	if len(nojs.Limits) != 1 || nojs.Limits[0] != "100" || nojs.Groups != len(wantGroups) || nojs.Refreshed != "" {
		t.Errorf("without JavaScript: limit lines %v, %d groups (want %d), refreshed %q", nojs.Limits, nojs.Groups, len(wantGroups), nojs.Refreshed)
	}

	rmu.Lock()
	defer rmu.Unlock()
	if len(requests) < 5 {
		t.Errorf("only %d requests seen: the network listener saw nothing", len(requests))
	}
	for _, u := range requests {
		if !strings.HasPrefix(u, origin+"/ui/") {
			t.Errorf("request outside the console: %s", u)
		}
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", expr, err)
	}
	return v
}

// poll waits for a JavaScript predicate, checked every 200 ms.
func poll(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(timeout))
}

type groupPage struct {
	Count    string `json:"count"`
	First    string `json:"first"`
	Leads    int    `json:"leads"`
	Parked   int    `json:"parked"`
	Stories  int    `json:"stories"`
	Redacted int    `json:"redacted"`
	Data     int    `json:"data"`
	Next     bool   `json:"next"`
	Cmd      string `json:"cmd"`
	HTML     string `json:"html"`
}

func readGroup(t *testing.T, ctx context.Context) groupPage {
	t.Helper()
	return eval[groupPage](t, ctx, `(() => { const ls = [...document.querySelectorAll('article.lead')];
		return {count: document.querySelector('#count').textContent.trim(), leads: ls.length,
			first: ls.length ? ls[0].dataset.event : "",
			parked: ls.filter(l => { const d = l.querySelector('dl.parked dd'); return !!d && d.textContent.trim() === "1006"; }).length,
			stories: ls.filter(l => [...l.querySelectorAll('ol.story li b')].some(b => b.textContent === "parked")).length,
			redacted: document.querySelectorAll('article.lead .redacted').length, data: document.querySelectorAll('pre.data').length,
			next: !!document.querySelector('a[rel="next"]'),
			cmd: [...document.querySelectorAll('pre.cmd')].map(e => e.textContent).join("\n"), html: document.documentElement.outerHTML}; })()`)
}

// noLeadData fails when a page shows any lead's email or last name.
func noLeadData(t *testing.T, page, html string) {
	t.Helper()
	if strings.Contains(html, "@example.com") || strings.Contains(html, "Lovelace") {
		t.Errorf("%s page shows lead data (http.ui.showLeadData is off)", page)
	}
	if strings.Contains(html, marketotest.DefaultClientSecret) {
		t.Errorf("%s page shows the client secret", page)
	}
}

func savePNG(t *testing.T, shot []byte) {
	t.Helper()
	img, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil || img.Width < 1000 || img.Height < 300 {
		t.Fatalf("screenshot: %v, %dx%d", err, img.Width, img.Height)
	}
	path := filepath.Join(t.TempDir(), "overview.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the overview: %s (%dx%d)", path, img.Width, img.Height)
}

// parkedGroups counts sub's parked leads by "code/field", read from the
// parked stream.
func parkedGroups(t *testing.T, q *queue.Queue, sub string) map[string]int {
	t.Helper()
	out := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := q.ScanParked(ctx, sub, func(m queue.StoredMsg) (bool, error) {
		p, err := repost.DecodeParkedLead(m.Data)
		if err != nil {
			return false, err
		}
		out[p.Parked.Code.String()+"/"+p.Parked.Field]++
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sumGroups(g map[string]int) int {
	n := 0
	for _, c := range g {
		n += c
	}
	return n
}

func groupsText(g map[string]int) string {
	var parts []string
	for k, c := range g {
		parts = append(parts, fmt.Sprintf("%s=%d", k, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// outcomes collects the first outcome of every event.
type outcomes struct {
	mu sync.Mutex
	by map[string]repost.Outcome
}

func mustCollectOutcomes(t *testing.T, q *queue.Queue) *outcomes {
	t.Helper()
	o := &outcomes{by: map[string]repost.Outcome{}}
	sub, err := q.NC.Subscribe(q.Subjects.All("outcome"), func(m *nats.Msg) {
		var out repost.Outcome
		if json.Unmarshal(m.Data, &out) != nil {
			return
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		if _, seen := o.by[out.EventID]; !seen {
			o.by[out.EventID] = out
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := q.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return o
}

func (o *outcomes) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.by)
}

func (o *outcomes) of(sub string, kind repost.Kind) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, out := range o.by {
		if out.Subscription == sub && out.Kind == kind {
			n++
		}
	}
	return n
}

// Without Redis the console's header says the limits are in this process,
// not that Redis is connected.
func TestConsoleSaysInProcessLimitsWithoutRedis(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, demoConfig(t.TempDir(), sim.URL), zap.NewNop(), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	page := get("http://" + a.ln.Addr().String() + "/ui/")
	if !strings.Contains(page, `<span class="ep in-process" id="redis">Redis in-process`) {
		t.Errorf("the overview's header does not say the limits are in-process:\n%.600s", page)
	}
	if !strings.Contains(page, `class="n quota-used"`) {
		t.Errorf("the overview lost the in-process limits' figures")
	}
}
