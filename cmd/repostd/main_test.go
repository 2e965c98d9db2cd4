package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

// buildRepostd compiles the daemon once per test binary.
func buildRepostd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "repostd")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

func writeConfig(t *testing.T, natsURL, redisURL, simURL string, shutdown time.Duration) string {
	t.Helper()
	cfg := fmt.Sprintf(`nats: {url: %q}
redis: {url: %q}
http: {addr: "127.0.0.1:0"}
dataDir: %q
worker: {shutdownTimeout: %s, linger: 50ms}
subscriptions:
  - id: %s
    endpoint: %s
    clientID: %s
    clientSecret: "${SIM_SECRET}"
    allowInsecure: true
`, natsURL, redisURL, t.TempDir(), shutdown, fixture.Sub, simURL, marketotest.DefaultClientID)
	path := filepath.Join(t.TempDir(), "repost.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// SIGTERM mid-drain: repostd exits 0 within its shutdown deadline, leaves
// no concurrency lease held, and a second process finishes the drain with
// every event decided exactly once.
func TestSIGTERMMidDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildRepostd(t)
	nats := testenv.NATS(t)
	rds := testenv.StartRedis(t)
	sim := marketotest.NewServer(marketotest.Options{Latency: 700 * time.Millisecond})
	t.Cleanup(sim.Close)
	q := testenv.Queue(t, nats.URL, queue.Options{})
	const n = 3000
	b := q.NewBatch()
	for i := range n {
		e := fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
		b.Failed(e.Sub, e.ID, e.Data)
	}
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	const deadline = 8 * time.Second
	cfg := writeConfig(t, nats.URL, rds.URL(), sim.URL, deadline)

	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(bin, "--config", cfg)
		cmd.Env = append(os.Environ(), "SIM_SECRET="+marketotest.DefaultClientSecret)
		var logs bytes.Buffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &logs
	}
	cmd, logs := start()
	testenv.CheckFor(t, 30*time.Second, func() error {
		if sim.InFlight() == 0 {
			return fmt.Errorf("no call in flight yet")
		}
		return nil
	})
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(sent)
	if err != nil {
		t.Fatalf("repostd after SIGTERM: %v\n%s", err, logs)
	}
	if took > deadline+3*time.Second {
		t.Errorf("exit took %s, deadline %s", took, deadline)
	}
	snap, err := quota.NewRedis(rds.Client(t), quota.RedisOptions{}).Snapshot(context.Background(), fixture.Sub,
		quota.Limits{DailyQuota: 50000, CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 10})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Leases != 0 {
		t.Errorf("%d concurrency leases still held after exit", snap.Leases)
	}
	if !strings.Contains(logs.String(), "shutdown: done") {
		t.Errorf("no orderly shutdown in the log:\n%s", logs)
	}
	for _, secret := range []string{marketotest.DefaultClientSecret} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds the client secret")
		}
	}
	t.Logf("exited 0 %s after SIGTERM; %d Marketo calls so far", took.Round(time.Millisecond), sim.Stats().Calls)

	// A second process drains the rest.
	cmd2, logs2 := start()
	testenv.CheckFor(t, 60*time.Second, func() error {
		if c := countOutcomes(t, q); c < n {
			return fmt.Errorf("%d of %d outcomes", c, n)
		}
		return nil
	})
	_ = cmd2.Process.Signal(syscall.SIGTERM)
	if err := cmd2.Wait(); err != nil {
		t.Fatalf("second repostd: %v\n%s", err, logs2)
	}
	seen := map[string]int{}
	_ = q.ScanOutcomes(context.Background(), "", func(m queue.StoredMsg) (bool, error) {
		var o repost.Outcome
		if err := json.Unmarshal(m.Data, &o); err != nil {
			return false, err
		}
		if o.Kind != repost.KindReposted {
			t.Errorf("%s: %s %s", o.EventID, o.Kind, o.Reason)
		}
		seen[o.EventID]++
		return true, nil
	})
	if len(seen) != n {
		t.Errorf("%d events decided, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s: %d outcomes", id, c)
		}
	}
	if got := sim.LeadCount(); got != n {
		t.Errorf("simulator holds %d leads, want %d", got, n)
	}
}

func countOutcomes(t *testing.T, q *queue.Queue) int {
	s, err := q.JS.Stream(context.Background(), queue.StreamOutcomes)
	if err != nil {
		return 0
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return 0
	}
	return int(info.State.Msgs)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
