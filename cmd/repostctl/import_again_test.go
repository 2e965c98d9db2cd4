package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
)

// shortWindows are de-duplication windows a test can wait out: POSTOUT_FAILED's
// (2 h in production) and the outcome stream's (24 h).
var shortWindows = queue.Options{FailedDupeWin: time.Second, DupeWin: time.Second}

// pastWindows waits until the windows of shortWindows have passed since
// the last publication. Waiting out a window is the scenario itself, so
// this is the one fixed wait.
func pastWindows() { time.Sleep(shortWindows.FailedDupeWin + 500*time.Millisecond) }

// writeJSONLines writes events i of kind for i in [0, n) as JSON lines.
func writeJSONLines(t *testing.T, n int, kind string) string {
	t.Helper()
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		b.Write(fixture.Build(i, kind, time.Now().Add(-time.Hour), fixture.Sub).Data)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// caughtUp waits until the worker's consumer has nothing left to deliver
// or to finish: from then on, no further outcome can come from what
// POSTOUT_FAILED holds.
func caughtUp(t *testing.T, h *harness) {
	t.Helper()
	checkFor(t, 30*time.Second, func() error {
		c, err := h.q.JS.Consumer(context.Background(), queue.StreamFailed, queue.ConsumerName(fixture.Sub))
		if err != nil {
			return err
		}
		info, err := c.Info(context.Background())
		if err != nil {
			return err
		}
		if info.NumPending > 0 || info.NumAckPending > 0 {
			return fmt.Errorf("consumer: %d pending, %d waiting for an ack", info.NumPending, info.NumAckPending)
		}
		return nil
	})
}

// oneOutcomeEach checks that every event has exactly one terminal outcome
// (and no other), and that there are n of them.
func oneOutcomeEach(t *testing.T, h *harness, kind repost.Kind, n int) {
	t.Helper()
	got := h.outcomes(kind)
	if len(got) != n {
		t.Errorf("%d events have a %s outcome, want %d", len(got), kind, n)
	}
	for id, os := range got {
		if len(os) != 1 {
			t.Errorf("%s has %d %s outcomes, want exactly 1", id, len(os), kind)
		}
	}
}

// The same report imported again after POSTOUT_FAILED's duplicate window
// (and the outcome stream's) has passed publishes nothing, says so, and
// no lead reaches Marketo twice or gets a second outcome.
func TestImportAgainPastTheDuplicateWindow(t *testing.T) {
	const n = 300
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarnessWith(t, shortWindows, sim.URL, fixture.Sub)
	h.now = time.Now
	h.startWorker(sim, fixture.Sub)
	path := writeJSONLines(t, n, fixture.KindOK)

	if out := h.mustRun("import", path); !strings.Contains(out, "0 already imported, 300 published to POSTOUT_FAILED") {
		t.Errorf("first import: %s", out)
	}
	checkFor(t, 30*time.Second, func() error {
		if got := len(h.outcomes(repost.KindReposted)); got != n {
			return fmt.Errorf("%d of %d reposted", got, n)
		}
		return nil
	})
	pastWindows()

	out := h.mustRun("import", path)
	t.Logf("second import: %s", out)
	if got := h.count(queue.StreamFailed); got != n {
		t.Errorf("after the second import POSTOUT_FAILED holds %d events, want %d", got, n)
	}
	if !strings.Contains(out, "300 already imported, 0 published to POSTOUT_FAILED") {
		t.Errorf("second import: %s", out)
	}
	caughtUp(t, h)
	oneOutcomeEach(t, h, repost.KindReposted, n)
	if st := sim.Stats(); st.Records != n {
		t.Errorf("Marketo received %d records, want each of %d leads once", st.Records, n)
	}
}

// Two imports of one report at once publish each event once between them,
// and each reports what it published.
func TestImportTwiceAtOnce(t *testing.T) {
	const n = 2000
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub)
	path := writeJSONLines(t, n, fixture.KindOK)
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], _, errs[i] = h.run(context.Background(), "import", path)
		}()
	}
	wg.Wait()
	published := 0
	for i, out := range outs {
		if errs[i] != nil {
			t.Fatalf("import %d: %v", i, errs[i])
		}
		var already, pub int
		line := out[strings.Index(out, "\n")+1:]
		if _, err := fmt.Sscanf(strings.ReplaceAll(line, ",", ""), "%d already imported %d published to POSTOUT_FAILED", &already, &pub); err != nil || already+pub != n {
			t.Fatalf("import %d: %q (%v), want already + published = %d", i, out, err, n)
		}
		published += pub
	}
	t.Logf("first: %q\nsecond: %q", outs[0], outs[1])
	if published != n || h.count(queue.StreamFailed) != n {
		t.Errorf("the two imports published %d between them, and POSTOUT_FAILED holds %d; want %d each\n%s\n%s",
			published, h.count(queue.StreamFailed), n, outs[0], outs[1])
	}
}
