package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/leadops/repost"
	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedNow is the clock of every test that prints times.
var fixedNow = time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)

const testSecret = "sim-secret"

// harness is an embedded NATS server on a data directory, as a running
// repostd leaves it, a configuration file, and repostctl run in-process.
type harness struct {
	t       *testing.T
	dir     string
	cfgPath string
	q       *queue.Queue
	env     map[string]string
	now     func() time.Time
	hooks   hooks
	store   quota.Store
	// workerNow is the clock of workers started with startWorkerOpts (nil: real).
	workerNow func() time.Time
	// workerLogs receives their logs when set (nil: the test's log, errors only).
	workerLogs zapcore.Core
}

// newHarness starts NATS on a fresh data directory and writes a
// configuration naming subs, whose Marketo is at endpoint.
func newHarness(t *testing.T, endpoint string, subs ...string) *harness {
	t.Helper()
	return newHarnessWith(t, queue.Options{}, endpoint, subs...)
}

// newHarnessWith is newHarness with the streams created by o (e.g. short
// de-duplication windows); their storage is memory.
func newHarnessWith(t *testing.T, o queue.Options, endpoint string, subs ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	emb, err := queue.StartEmbeddedMax(dir, 0, queue.StockMaxPayload)
	if err != nil {
		t.Fatalf("embedded NATS: %v", err)
	}
	t.Cleanup(emb.Shutdown)
	h := &harness{t: t, dir: dir, env: map[string]string{"USER": "oncall"}, now: func() time.Time { return fixedNow }}
	// Memory streams keep the race-enabled tests fast; repostctl never
	// changes streams it finds, whatever their storage.
	o.Storage = jetstream.MemoryStorage
	h.q = testenv.Queue(t, emb.URL, o)
	h.cfgPath = filepath.Join(dir, "repost.yaml")
	if err := os.WriteFile(h.cfgPath, []byte(configYAML(dir, endpoint, subs)), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

func configYAML(dir, endpoint string, subs []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dataDir: %q\npolicy:\n  maxAttempts: 7\n  overrides: {\"1004\": skip, \"611\": park}\nsubscriptions:\n", dir)
	for i, s := range subs {
		fmt.Fprintf(&b, "  - id: %s\n    endpoint: %s\n    clientID: %s\n    clientSecret: %s\n    allowInsecure: true\n",
			s, endpoint, marketotest.DefaultClientID, testSecret)
		if i == 1 {
			b.WriteString("    limits: {dailyQuota: 10000, callsPerWindow: 50, window: 20s, maxConcurrency: 5}\n")
		}
	}
	return b.String()
}

// run runs repostctl with --config; it fails the test if a secret shows.
func (h *harness) run(ctx context.Context, args ...string) (string, string, error) {
	h.t.Helper()
	var out, errb bytes.Buffer
	e := &env{getenv: func(k string) string { return h.env[k] }, stdin: strings.NewReader(""),
		stdout: &out, stderr: &errb, now: h.now, loc: berlin, hooks: h.hooks}
	if h.store != nil {
		e.limitStore = func(context.Context, *config.Config) (quota.Store, string, error) {
			return nopClose{h.store}, "", nil
		}
	}
	err := runEnv(ctx, e, append([]string{"--config", h.cfgPath}, args...))
	if strings.Contains(out.String()+errb.String(), testSecret) {
		h.t.Fatalf("a secret appears in the output of %v", args)
	}
	return out.String(), errb.String(), err
}

// mustRun runs repostctl and fails the test unless it succeeds.
func (h *harness) mustRun(args ...string) string {
	h.t.Helper()
	out, errOut, err := h.run(context.Background(), args...)
	if err != nil {
		h.t.Fatalf("repostctl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

type nopClose struct{ quota.Store }

func (nopClose) Close() error { return nil }

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// park publishes a parked entry of event i of a fixture kind, as the
// worker would have parked it.
func (h *harness) park(sub string, i int, kind string, info repost.ParkInfo) {
	h.t.Helper()
	ev := fixture.Build(i, kind, fixedNow.Add(-24*time.Hour), sub)
	data, err := repost.NewParkedLead(ev.Data, info)
	if err != nil {
		h.t.Fatal(err)
	}
	b := h.q.NewBatch()
	b.Parked(sub, ev.ID, data)
	if err := b.Wait(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// publish publishes failed events.
func (h *harness) publish(events []fixture.Event) {
	h.t.Helper()
	for i := 0; i < len(events); i += 500 {
		b := h.q.NewBatch()
		for _, e := range events[i:min(i+500, len(events))] {
			b.Failed(e.Sub, e.ID, e.Data)
		}
		if err := b.Wait(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
}

// count is the number of messages in a stream.
func (h *harness) count(stream string) int {
	s, err := h.q.JS.Stream(context.Background(), stream)
	if err != nil {
		return -1
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return -1
	}
	return int(info.State.Msgs)
}

// messages returns every message of a stream, oldest first.
func (h *harness) messages(stream string) []*jetstream.RawStreamMsg {
	h.t.Helper()
	ctx := context.Background()
	s, err := h.q.JS.Stream(ctx, stream)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		out = append(out, m)
	}
	return out
}

// outcomes returns every outcome of a kind by eventId.
func (h *harness) outcomes(kind repost.Kind) map[string][]repost.Outcome {
	h.t.Helper()
	out := map[string][]repost.Outcome{}
	err := h.q.ScanOutcomes(context.Background(), "", func(m queue.StoredMsg) (bool, error) {
		var o repost.Outcome
		if err := json.Unmarshal(m.Data, &o); err != nil {
			return false, err
		}
		if o.Kind == kind {
			out[o.EventID] = append(out[o.EventID], o)
		}
		return true, nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// startWorker runs a worker reposting sub to the simulator until cleanup.
func (h *harness) startWorker(sim *marketotest.Server, sub string) {
	h.t.Helper()
	q := testenv.Queue(h.t, h.urlOf(), queue.Options{})
	pol, err := policy.New(policy.Config{Rand: func() float64 { return 0.5 },
		Backoff: policy.Backoff{Initial: 50 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.5}})
	if err != nil {
		h.t.Fatal(err)
	}
	c, err := marketo.New(marketo.Config{Subscription: sub, Endpoint: sim.URL, AllowInsecure: true,
		ClientID: marketotest.DefaultClientID, ClientSecret: testSecret, MaxConns: 10})
	if err != nil {
		h.t.Fatal(err)
	}
	w, err := worker.New(q, quota.NewMemory(quota.MemoryOptions{}), pol, worker.Config{
		Linger: 20 * time.Millisecond, ShutdownTimeout: 5 * time.Second,
		Logger: zaptest.NewLogger(h.t, zaptest.Level(zap.ErrorLevel)),
		Subscriptions: []worker.Subscription{{ID: sub, Client: c,
			Limits: quota.Limits{DailyQuota: 50000, CallsPerWindow: 1000, Window: 20 * time.Second, MaxConcurrency: 10}}},
	})
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
}

func (h *harness) urlOf() string { return queue.RunningURL(h.dir) }

// checkFor polls cond until it holds or timeout passes.
func checkFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	testenv.CheckFor(t, timeout, cond)
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		var d bytes.Buffer
		unifiedDiff(&d, "want "+path, "got", string(want), got)
		t.Errorf("%s differs:\n%s", path, d.String())
	}
}
