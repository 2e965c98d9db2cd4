package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
)

// buildRepostctl compiles the on-call CLI, which the restart test drives as
// an operator would.
func buildRepostctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "repostctl")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/leadops/repost/cmd/repostctl")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build repostctl: %v", err)
	}
	return bin
}

// The demo keeps its data directory and prints how to start repostd on it
// again: following those lines (marketo-sim on the printed address, then
// repostd --config <dir>/repost.yaml), a requeue of the demo's parked
// 1006 leads with a rename is processed and every one is reposted.
func TestDemoRestartHintWorks(t *testing.T) {
	ctl := buildRepostctl(t)
	// The address the printed configuration expects marketo-sim on: held
	// from now on, so that no other test can take it meanwhile.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	simAddr := ln.Addr().String()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err = run(context.Background(), []string{"demo", "--events", "300", "--pace", "0", "--progress", "200ms",
		"--faults", "0", "--data-dir", dir, "--sim-addr", simAddr}, func(string) string { return "" }, &out, &errb)
	if err != nil {
		ln.Close()
		t.Fatalf("demo: %v\n%s\n%s", err, out.String(), errb.String())
	}
	cfgPath := filepath.Join(dir, "repost.yaml")
	for _, want := range []string{
		"  go run ./cmd/marketo-sim --addr " + simAddr + " &\n",
		"  go run ./cmd/repostd --config " + cfgPath + "\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not print %q:\n%s", want, out.String())
		}
	}

	// marketo-sim --addr simAddr, as printed: its default options.
	srv := &http.Server{Handler: marketotest.New(marketotest.Options{}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// repostd --config <dir>/repost.yaml, as printed; only the HTTP port is
	// moved off 8080 (REPOST_HTTP_ADDR), for tests running side by side.
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var daemonLog testenv.Buffer
	go func() {
		done <- run(ctx, []string{"--config", cfgPath}, func(k string) string {
			if k == "REPOST_HTTP_ADDR" {
				return "127.0.0.1:0"
			}
			return ""
		}, &bytes.Buffer{}, &daemonLog)
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("repostd: %v", err)
		}
	})

	repostctl := func(args ...string) (stdout, stderr string, err error) {
		cmd := exec.Command(ctl, append([]string{"--config", cfgPath}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME=", "REPOST_CONFIG=", "REPOST_NATS_URL=")
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		return o.String(), e.String(), err
	}
	var parked []struct {
		EventID string `json:"eventId"`
	}
	testenv.CheckFor(t, 15*time.Second, func() error {
		o, e, err := repostctl("parked", "list", "--code", "1006", "--limit", "0", "-o", "json")
		if err != nil {
			return fmt.Errorf("repostctl parked list: %v\n%s", err, e)
		}
		return json.Unmarshal([]byte(o), &parked)
	})
	if len(parked) == 0 {
		t.Fatalf("the demo parked no 1006 lead:\n%s", out.String())
	}

	o, e, err := repostctl("parked", "requeue", "--code", "1006", "--rename-field", "role=jobTitle",
		"--actor", "on-call", "--wait", "20s")
	want := fmt.Sprintf("outcomes: %d reposted, 0 re-parked, 0 skipped, 0 still waiting", len(parked))
	if err != nil || !strings.Contains(o, want) {
		t.Fatalf("requeue: %v, want %q:\n%s%s\nrepostd log:\n%s", err, want, o, e, daemonLog.String())
	}
	t.Logf("%s", o)

	// The outcome stream says so too, each naming the parked event it replays.
	q := testenv.Queue(t, queue.RunningURL(dir), queue.Options{})
	replayed := map[string]bool{}
	if err := q.ScanOutcomes(context.Background(), "", func(m queue.StoredMsg) (bool, error) {
		var oc repost.Outcome
		if err := json.Unmarshal(m.Data, &oc); err == nil && oc.Kind == repost.KindReposted && oc.RequeueOf != "" {
			replayed[oc.RequeueOf] = true
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range parked {
		if !replayed[p.EventID] {
			t.Errorf("%s: no reposted outcome for its requeued copy", p.EventID)
		}
	}
}
