package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

func runQuiet(t *testing.T, getenv map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{getenv: func(k string) string { return getenv[k] }, stdin: strings.NewReader(""),
		stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }, loc: time.UTC}
	err := runEnv(context.Background(), e, args)
	return out.String(), errb.String(), err
}

// With no NATS URL and no repostd running, --offline starts an embedded
// server on the data directory, says so, reads what a stopped repostd
// left there, and stops the server again.
func TestOfflineInspectionStartsEmbeddedNATS(t *testing.T) {
	dir := t.TempDir()
	emb, err := queue.StartEmbedded(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	q := testenv.Queue(t, emb.URL, queue.Options{})
	ev := fixture.Build(1, "field-role", fixedNow, fixture.Sub)
	data, _ := repost.NewParkedLead(ev.Data, repost.ParkInfo{Code: "1006", Field: "role", Reason: "Field 'role' not found", ParkedAt: fixedNow})
	b := q.NewBatch()
	b.Parked(fixture.Sub, ev.ID, data)
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	q.Close()
	emb.Shutdown() // repostd stopped

	out, stderr, err := runQuiet(t, nil, "--data-dir", dir, "--offline", "parked", "summary")
	if err != nil || !strings.Contains(stderr, "started an embedded NATS") || !strings.Contains(out, "1006") {
		t.Fatalf("offline summary: %v\nstdout %s\nstderr %s", err, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, queue.URLFile)); !os.IsNotExist(err) {
		t.Errorf("the embedded server was left running (%s exists)", queue.URLFile)
	}
}

// REPOST_NATS_URL (a remote server) wins over the data directory.
func TestRemoteNATSFromEnvironment(t *testing.T) {
	h := parkedMix(t)
	empty := t.TempDir()
	out, stderr, err := runQuiet(t, map[string]string{"REPOST_NATS_URL": h.urlOf()}, "--data-dir", empty, "parked", "list", "-o", "json")
	if err != nil || strings.Contains(stderr, "embedded") {
		t.Fatalf("remote list: %v\n%s", err, stderr)
	}
	var rows []listRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 10 {
		t.Errorf("remote list: %d rows, %v", len(rows), err)
	}
}

// limits reads the shared limits from Redis when it is configured.
func TestLimitsFromRedis(t *testing.T) {
	r := testenv.StartRedis(t)
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub)
	store := quota.NewRedis(r.Client(t), quota.RedisOptions{})
	lim := quota.Limits{DailyQuota: 50000, CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 10}
	for i := 0; i < 4; i++ {
		if a, err := store.Admit(context.Background(), fixture.Sub, lim); err != nil || !a.Allowed {
			t.Fatalf("admit: %+v %v", a, err)
		}
	}
	h.env["REPOST_REDIS_URL"] = r.URL()
	var rows []limitsRow
	out, stderr, err := h.run(context.Background(), "limits", "-o", "json")
	if err != nil || strings.Contains(stderr, "no Redis") {
		t.Fatalf("limits: %v\n%s", err, stderr)
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].QuotaUsed != 4 || rows[0].Leases != 4 || rows[0].CallsInWindow != 4 {
		t.Errorf("limits from Redis: %+v", rows)
	}
}

func TestProgress(t *testing.T) {
	now := fixedNow
	var w bytes.Buffer
	e := &env{stderr: &w, now: func() time.Time { return now }}
	p := newProgress(e, "requeue", 200)
	p.update(50, 0) // too soon: nothing
	now = now.Add(6 * time.Second)
	p.update(100, 2)
	now = now.Add(time.Second)
	p.update(200, 2) // the end is always shown
	p.finish()
	want := "requeue: 100/200 (50%) 17/s, 2 left parked\nrequeue: 200/200 (100%) 29/s, 2 left parked\n"
	if w.String() != want {
		t.Errorf("plain progress:\n%q\nwant\n%q", w.String(), want)
	}
	w.Reset()
	e.terminal = true
	p = newProgress(e, "import", 4)
	now = now.Add(time.Second)
	p.update(2, 0)
	p.update(4, 0)
	p.finish()
	if got := w.String(); !strings.Contains(got, "\rimport [===============               ] 2/4  50% 2/s ") ||
		!strings.HasSuffix(got, "4/4 100% 4/s \n") {
		t.Errorf("terminal progress: %q", got)
	}
}
