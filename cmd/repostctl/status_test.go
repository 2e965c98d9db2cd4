package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/status"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

const (
	subPaused = "222-PAU-222" // run by the worker, paused
	subIdle   = "333-IDL-333" // configured, never run
)

// statusRig is a harness with a worker announcing itself as "w-golden"
// on the first two subscriptions, sharing the limits store of repostctl
// (as Redis would); the worker's and the store's clocks stand at fixedNow,
// so that uptimes, rates and estimates are fixed.
func statusRig(t *testing.T) (*harness, *marketotest.Server) {
	t.Helper()
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub, subPaused, subIdle)
	h.store = quota.NewMemory(quota.MemoryOptions{Now: func() time.Time { return fixedNow }})
	h.workerNow = func() time.Time { return fixedNow }
	h.startWorkerOpts(sim, "w-golden", "1.2.3-test", fixture.Sub, subPaused)
	return h, sim
}

// startWorkerOpts runs a worker named owner at version on subs, with a
// fast heartbeat and h.store for its limits, until cleanup.
func (h *harness) startWorkerOpts(sim *marketotest.Server, owner, version string, subs ...string) {
	h.t.Helper()
	h.startWorkerMod(sim, owner, version, nil, subs...)
}

// startWorkerMod is startWorkerOpts with mod applied to the worker's
// configuration (nil: none); it returns the worker (for its Handler).
func (h *harness) startWorkerMod(sim *marketotest.Server, owner, version string, mod func(*worker.Config), subs ...string) *worker.Worker {
	h.t.Helper()
	q := testenv.Queue(h.t, h.urlOf(), queue.Options{})
	pol, err := policy.New(policy.Config{Rand: func() float64 { return 0.5 },
		Backoff: policy.Backoff{Initial: 50 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.5}})
	if err != nil {
		h.t.Fatal(err)
	}
	var wsubs []worker.Subscription
	for _, sub := range subs {
		c, err := marketo.New(marketo.Config{Subscription: sub, Endpoint: sim.URL, AllowInsecure: true,
			ClientID: marketotest.DefaultClientID, ClientSecret: testSecret, MaxConns: 10})
		if err != nil {
			h.t.Fatal(err)
		}
		wsubs = append(wsubs, worker.Subscription{ID: sub, Client: c,
			Limits: quota.Limits{DailyQuota: 10000, CallsPerWindow: 50, Window: 20 * time.Second, MaxConcurrency: 5},
			// As repostd wires it: a halt lifts once this call succeeds.
			Probe: func(ctx context.Context) error { _, err := c.Describe(ctx); return err }})
	}
	logger := zaptest.NewLogger(h.t, zaptest.Level(zap.ErrorLevel))
	if h.workerLogs != nil {
		logger = zap.New(h.workerLogs)
	}
	store := h.store
	if store == nil {
		store = quota.NewMemory(quota.MemoryOptions{})
	}
	cfg := worker.Config{
		Linger: 20 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Owner: owner, Version: version,
		Heartbeat: 50 * time.Millisecond, PausePoll: 50 * time.Millisecond, Now: h.workerNow, Logger: logger,
		Subscriptions: wsubs,
	}
	if mod != nil {
		mod(&cfg)
	}
	w, err := worker.New(q, store, pol, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("worker: %v", err)
			}
		case <-time.After(20 * time.Second):
			h.t.Errorf("worker did not stop")
		}
	})
	return w
}

// statusJSON runs `status -o json`.
func (h *harness) statusJSON(args ...string) *status.Snapshot {
	h.t.Helper()
	var s status.Snapshot
	if err := json.Unmarshal([]byte(h.mustRun(append([]string{"status", "-o", "json"}, args...)...)), &s); err != nil {
		h.t.Fatal(err)
	}
	return &s
}

func rowOf(s *status.Snapshot, sub string) status.Row {
	for _, r := range s.Subscriptions {
		if r.Subscription == sub {
			return r
		}
	}
	return status.Row{}
}

// normalize replaces what the environment decides (the server's port and
// version, the host name) so that the output can be compared with a file.
func (h *harness) normalize(out string) string {
	out = regexp.MustCompile(`nats://127\.0\.0\.1:\d+`).ReplaceAllString(out, "nats://127.0.0.1:PORT")
	out = strings.ReplaceAll(out, " v"+h.q.NC.ConnectedServerVersion()+" ", " vX.Y.Z ")
	if host, _ := os.Hostname(); host != "" {
		out = strings.ReplaceAll(out, " on "+host+" ", " on HOST ")
	}
	return out
}

// A real server and a running worker: one row per subscription with its
// backlog, recent outcomes, calls and quota from the shared store, the
// pause with its actor, and the replica with its version.
func TestGoldenStatus(t *testing.T) {
	h, _ := statusRig(t)
	ctx := context.Background()
	if err := h.q.SetPause(ctx, queue.Pause{Subscription: subPaused, Reason: "deploy freeze", Actor: "alice",
		At: fixedNow.Add(-10 * time.Minute), Until: fixedNow.Add(50 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// One lead at a time, so that each repost is one Marketo call (the
	// 1006 is parked at once, without a call).
	for i, kind := range []string{fixture.KindOK, fixture.KindOK, fixture.KindOK, "field-role"} {
		h.publish([]fixture.Event{fixture.Build(i, kind, time.Now().Add(-time.Hour), fixture.Sub)})
		checkFor(t, 30*time.Second, func() error {
			if got := len(h.outcomes("reposted")) + len(h.outcomes("parked")); got != i+1 {
				return fmt.Errorf("%d of %d outcomes", got, i+1)
			}
			return nil
		})
	}
	h.publish([]fixture.Event{fixture.Build(10, fixture.KindOK, time.Now(), subPaused),
		fixture.Build(11, fixture.KindOK, time.Now(), subPaused)})
	checkFor(t, 30*time.Second, func() error {
		s := h.statusJSON()
		a, p := rowOf(s, fixture.Sub), rowOf(s, subPaused)
		if len(s.Replicas) != 1 || a.Recent.Reposted != 3 || a.Recent.Parked != 1 || a.Backlog != 0 || a.InFlight != 0 || p.Backlog != 2 {
			return fmt.Errorf("replicas %d, %s %+v backlog %d in flight %d, %s backlog %d", len(s.Replicas), fixture.Sub, a.Recent,
				a.Backlog, a.InFlight, subPaused, p.Backlog)
		}
		return nil
	})
	golden(t, "status", h.normalize(h.mustRun("status")))
	golden(t, "status-one", h.normalize(h.mustRun("status", subPaused)))

	s := h.statusJSON()
	if r := s.Replicas[0]; r.ID != "w-golden" || r.Version != "1.2.3-test" || len(r.Subscriptions) != 2 {
		t.Errorf("replica %+v", r)
	}
	if hold, ok := rowOf(s, subPaused).Held(status.HoldPaused); !ok || hold.Actor != "alice" || hold.Reason != "deploy freeze" {
		t.Errorf("pause not in the snapshot: %+v", rowOf(s, subPaused).Holds)
	}
	if l := rowOf(s, fixture.Sub).Limits; l == nil || l.QuotaUsed != 3 || l.CallsInWindow != 3 {
		t.Errorf("limits of %s: %+v, want the 3 calls", fixture.Sub, l)
	}
	if _, _, err := h.run(ctx, "status", "999-NOT-999"); err == nil {
		t.Error("status of a subscription not in the configuration succeeded")
	}
}

// The renderer over a built snapshot: every kind of hold, ages, a quota
// running out, limits not visible, errors, no replicas.
func TestGoldenStatusRender(t *testing.T) {
	at := fixedNow
	s := &status.Snapshot{At: at,
		NATS:  status.Endpoint{URL: "nats://nats.prod:4222", Version: "2.11.4", Status: "connected"},
		Redis: status.Endpoint{URL: "redis://redis.prod:6379/0", Status: "unreachable"},
		Replicas: []status.Replica{
			{ID: "repostd-0", Host: "pod-a", Version: "v1.4.0", StartedAt: at.Add(-26 * time.Hour), Subscriptions: []string{"A", "B"}},
			{ID: "repostd-1", Host: "pod-b", Version: "v1.4.1", StartedAt: at.Add(-3*time.Minute - 20*time.Second), Subscriptions: []string{"A"}},
		},
		Subscriptions: []status.Row{
			{Subscription: "A", Backlog: 1250, Pending: 1200, AckPending: 50, OldestAt: at.Add(-95 * time.Minute),
				OldestAge: status.Duration(95 * time.Minute), InFlight: 40, Deferred: 10,
				Recent: queue.RecentCounts{Reposted: 900, Parked: 12, Skipped: 3, Calls: 30},
				Limits: &status.LimitsRow{CallsInWindow: 48, WindowLimit: 50, Window: status.Duration(20 * time.Second),
					QuotaUsed: 9100, QuotaLimit: 10000, QuotaLeft: 900, ResetAt: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC),
					QuotaRunsOutAt: at.Add(2 * time.Hour), RatePerMinute: 7.5},
				Holds: []status.Hold{{Kind: status.HoldBlocked, Until: at.Add(15 * time.Second), Reason: "606 window full"}}},
			{Subscription: "B", Holds: []status.Hold{
				{Kind: status.HoldHalted, Reason: "603 access denied: check the API user's role"},
				{Kind: status.HoldPaused, Actor: "bob", Reason: "Marketo maintenance"}},
				Limits: &status.LimitsRow{WindowLimit: 50, Window: status.Duration(20 * time.Second), QuotaUsed: 10000,
					QuotaLimit: 10000, ResetAt: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)}},
			{Subscription: "C", Errors: []string{"no consumer yet: no repostd has run this subscription"}},
		},
	}
	var b bytes.Buffer
	if err := printStatus(&b, s, berlin); err != nil {
		t.Fatal(err)
	}
	s.Replicas = nil
	s.Subscriptions = s.Subscriptions[2:]
	s.Redis = status.Endpoint{Status: "in-process", Error: "no Redis configured: the limits live inside the repostd process and are not visible from here"}
	b.WriteString("---\n")
	if err := printStatus(&b, s, berlin); err != nil {
		t.Fatal(err)
	}
	golden(t, "status-render", b.String())
}

// frameWriter counts the snapshots a watch writes and cancels the watch
// after n of them.
type frameWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	frames int
	n      int
	cancel func()
}

func (f *frameWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if bytes.Contains(p, []byte("SUBSCRIPTION")) || bytes.HasPrefix(p, []byte("{")) {
		f.frames++
		if f.frames == f.n {
			f.cancel()
		}
	}
	return f.buf.Write(p)
}

// --watch redraws in place on a terminal, prints plain snapshots one
// after the other when piped, and ends cleanly (exit 0) when interrupted.
func TestStatusWatch(t *testing.T) {
	h := newHarness(t, "https://123-ABC-456.mktorest.com", fixture.Sub)
	for _, tt := range []struct {
		name     string
		terminal bool
		args     []string
	}{
		{"terminal", true, nil}, {"piped", false, nil}, {"json", false, []string{"-o", "json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fw := &frameWriter{n: 3, cancel: cancel}
			var errb bytes.Buffer
			e := &env{getenv: func(k string) string { return h.env[k] }, stdin: strings.NewReader(""),
				stdout: fw, stderr: &errb, now: h.now, loc: berlin, outTerminal: tt.terminal, watchEvery: time.Millisecond}
			err := runEnv(ctx, e, append([]string{"--config", h.cfgPath, "status", "--watch"}, tt.args...))
			if err != nil {
				t.Fatalf("watch interrupted: %v, want a clean end\n%s", err, errb.String())
			}
			out := fw.buf.String()
			if fw.frames != 3 {
				t.Errorf("%d frames, want 3", fw.frames)
			}
			clears, homes := strings.Count(out, clearScreen), strings.Count(out, cursorHome+"2026")
			switch {
			case tt.terminal && (clears != 1 || homes != 2 || strings.Count(out, clearBelow) != 3):
				t.Errorf("in 3 frames %d screen clears and %d redraws from the top, want 1 and 2:\n%q", clears, homes, out)
			case tt.terminal && !strings.Contains(out, "SUBSCRIPTION"+strings.Repeat(" ", 2)) || tt.terminal && !strings.Contains(out, "HOLD"+clearEOL+"\n"):
				t.Errorf("lines not cleared to their end:\n%q", out)
			case !tt.terminal && (clears != 0 || strings.Contains(out, "\x1b")):
				t.Errorf("escape sequences when piped:\n%q", out)
			}
			if tt.name == "json" {
				dec := json.NewDecoder(strings.NewReader(out))
				n := 0
				for dec.More() {
					var s status.Snapshot
					if err := dec.Decode(&s); err != nil {
						t.Fatal(err)
					}
					n++
				}
				if n != 3 {
					t.Errorf("%d JSON objects, want 3", n)
				}
			}
		})
	}
}
