package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo/marketotest"
)

type backlogResult struct {
	Events     int
	PeakRSS    int64 // bytes, VmHWM of the repostd process
	Seconds    float64
	PerSecond  float64
	GoMemLimit string // the GOMEMLIMIT repostd ran with: the Deployment's
}

// deploymentFile is the Deployment whose GOMEMLIMIT the backlog's repostd
// runs with, so that the figure is the one a pod would show.
const deploymentFile = "deployments/kustomize/base/deployment.yaml"

// measureBacklog publishes a deep backlog, then runs the real repostd
// binary (limits off) until every event has its outcome, and reads the
// process's peak resident set from /proc. repostd runs as in production:
// its own process, connected to a NATS server (this process's embedded
// one) and to a Redis server (a throwaway redis-server), with the
// Deployment's GOMEMLIMIT and no GOGC. Without Redis, repostd would keep
// limits and success marks in its own heap (quota.Memory, one replica
// only), memory a production pod does not hold.
func measureBacklog(ctx context.Context, o options, rep *report) error {
	memLimit, err := deploymentEnv(deploymentFile, "GOMEMLIMIT")
	if err != nil {
		return err
	}
	e, q, cleanup, err := fresh(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	for i := 0; i < o.backlog; i += 50000 {
		if err := publish(ctx, q, okEventsFrom(i, min(50000, o.backlog-i))); err != nil {
			return err
		}
	}
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true, CallLogSize: 1})
	defer sim.Close()
	bin := o.repostd
	dir, err := os.MkdirTemp("", "repostbench-rss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "repostd")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/repostd").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v: %s", err, out)
		}
	}
	rdb, err := startRedis(dir)
	if err != nil {
		return err
	}
	defer rdb.stop()
	cfg := filepath.Join(dir, "repost.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`nats: {url: %q}
redis: {url: "redis://%s/0"}
http: {addr: "127.0.0.1:0"}
dataDir: %q
log: {level: warn}
subscriptions:
  - id: %s
    endpoint: %s
    clientID: %s
    clientSecret: %s
    allowInsecure: true
    limits: {dailyQuota: 100000000, callsPerWindow: 1000000, window: 1s, maxConcurrency: 16}
`, e.URL, rdb.addr, dir, fixture.Sub, sim.URL, marketotest.DefaultClientID, marketotest.DefaultClientSecret)), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Env = append(withoutGoTuning(os.Environ()), "GOMEMLIMIT="+memLimit)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := waitOutcomes(ctx, q, o.backlog, 30*time.Minute); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	hwm, err := vmHWM(cmd.Process.Pid)
	if err != nil {
		return err
	}
	rep.Backlog = backlogResult{Events: o.backlog, PeakRSS: hwm, Seconds: secs, PerSecond: float64(o.backlog) / secs, GoMemLimit: memLimit}
	return nil
}

func okEventsFrom(from, n int) []fixture.Event {
	at := time.Now()
	evs := make([]fixture.Event, n)
	for i := range evs {
		evs[i] = fixture.Build(from+i, fixture.KindOK, at, fixture.Sub)
	}
	return evs
}

// vmHWM reads a process's peak resident set size.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

// withoutGoTuning drops the variables that tune the Go runtime, which the
// Deployment does not set (GOGC, GODEBUG) or sets itself (GOMEMLIMIT).
func withoutGoTuning(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name != "GOGC" && name != "GOMEMLIMIT" && name != "GODEBUG" {
			out = append(out, kv)
		}
	}
	return out
}

// deploymentEnv reads the value of a container's environment variable
// from a Deployment manifest ("- name: X" followed by "value: ...").
func deploymentEnv(path, name string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w (run repostbench from the repository root)", err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "- name: "+name || i+1 >= len(lines) {
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(lines[i+1]), "value:"); ok {
			return strings.Trim(strings.TrimSpace(v), `"'`), nil
		}
	}
	return "", fmt.Errorf("%s: no %s value", path, name)
}
