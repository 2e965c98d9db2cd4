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

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo/marketotest"
)

type backlogResult struct {
	Events     int
	PeakRSS    int64 // bytes, VmHWM of the repostd process
	Seconds    float64
	PerSecond  float64
	GoMemLimit string // the soft memory limit repostd ran with: the one it derives in the Deployment's pod
}

// deploymentFile is the Deployment whose memory limit the backlog's
// repostd runs with, so that the figure is the one a pod would show.
const deploymentFile = "deployments/kustomize/base/deployment.yaml"

// measureBacklog publishes a deep backlog, then runs the real repostd
// binary (limits off) until every event has its outcome, and reads the
// process's peak resident set from /proc. repostd runs as in production:
// its own process, connected to a NATS server (this process's embedded
// one) and to a Redis server (a throwaway redis-server), with the
// Deployment's memory limit in REPOST_MEMORY_LIMIT, as the downward API
// passes it (repostd derives GOMEMLIMIT from it), and no GOGC. Without Redis, repostd would keep
// limits and success marks in its own heap (quota.Memory, one replica
// only), memory a production pod does not hold.
func measureBacklog(ctx context.Context, o options, rep *report) error {
	limit, err := deploymentMemoryLimit(deploymentFile, "repostd")
	if err != nil {
		return err
	}
	// What repostd derives from it (cmd/repostd memlimit.go), for the report.
	memLimit := fmt.Sprintf("%.1fMiB (90%% of limits.memory %.0fMiB)", float64(limit-limit/10)/(1<<20), float64(limit)/(1<<20))
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
	cmd.Env = append(withoutGoTuning(os.Environ()), "REPOST_MEMORY_LIMIT="+strconv.FormatInt(limit, 10))
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
// Deployment does not set (GOGC, GODEBUG, GOMEMLIMIT: repostd derives it
// from REPOST_MEMORY_LIMIT), and this process's REPOST_MEMORY_LIMIT.
func withoutGoTuning(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name != "GOGC" && name != "GOMEMLIMIT" && name != "GODEBUG" && name != "REPOST_MEMORY_LIMIT" {
			out = append(out, kv)
		}
	}
	return out
}

// deploymentMemoryLimit reads limits.memory of a Deployment's container,
// in bytes: what the downward API hands it as REPOST_MEMORY_LIMIT.
func deploymentMemoryLimit(path, container string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%w (run repostbench from the repository root)", err)
	}
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name      string
						Resources struct {
							Limits map[string]string
						}
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal(b, &d); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != container {
			continue
		}
		q, err := resource.ParseQuantity(c.Resources.Limits["memory"])
		if err != nil {
			return 0, fmt.Errorf("%s: container %s: limits.memory: %w", path, container, err)
		}
		return q.Value(), nil
	}
	return 0, fmt.Errorf("%s: no container %s", path, container)
}
