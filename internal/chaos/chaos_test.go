package chaos

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testWriter sends progress lines to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// mustHaveRedis skips when redis-server is missing, unless CI requires it
// (REPOST_REQUIRE_REDIS=1), where it fails: the chaos test never silently
// skips in CI.
func mustHaveRedis(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("REPOST_REQUIRE_REDIS") == "1" {
			tb.Fatalf("redis-server required (REPOST_REQUIRE_REDIS=1): %v", err)
		}
		tb.Skipf("redis-server not installed: %v", err)
	}
}

// keepLogs copies the run's logs out of the test's temp dir, which is
// removed at the end, so a failure can be read afterwards.
func keepLogs(tb testing.TB, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	keep, err := os.MkdirTemp("", "repost-chaos-failed-*")
	if err != nil {
		tb.Logf("logs not kept: %v", err)
		return
	}
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			_ = os.WriteFile(filepath.Join(keep, filepath.Base(l)), b, 0o600)
		}
	}
	tb.Logf("logs of the run kept in %s", keep)
}

// The short chaos run of `make test`: 3,000 events through three repostd
// processes while replicas are SIGKILLed every 2 s and NATS and Redis are
// restarted, out-of-order pairs of one lead among them, and 100 events of a
// subscription paused past POSTOUT_FAILED's shortened max age; every check
// of the accounting must pass.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server, redis-server, marketo-sim and three repostd for about a minute")
	}
	mustHaveRedis(t)
	o := Short()
	o.Dir = t.TempDir()
	o.Progress = testWriter{t}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("chaos run: %v", err)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	t.Logf("accounting:\n%s", table.String())
	for _, c := range rep.Checks {
		if !c.OK {
			t.Errorf("%s: %s", c.Name, c.Detail)
		}
	}
	if t.Failed() {
		for _, m := range rep.Chaos.Timeline {
			t.Logf("%s %s", m.At.Format("15:04:05.000"), m.What)
		}
		keepLogs(t, o.Dir)
	}
	if want := o.Events + o.PausedEvents; rep.Published != want || rep.Outcomes.Decided != want {
		t.Errorf("published %d, decided %d, want %d", rep.Published, rep.Outcomes.Decided, want)
	}
}
