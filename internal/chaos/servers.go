package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/randid"
	"github.com/leadops/repost/marketo/marketotest"
)

// cluster is every process of a run. Its methods are called from one
// goroutine at a time (Run's), except close, which may come from a signal.
type cluster struct {
	o      Options
	dir    string
	bins   binaries
	secret string

	natsPort, redisPort int
	nats, redis, sim    *proc
	pausedSim           *proc       // PausedSub's Marketo instance
	nodes               []*natsNode // -cluster: the servers of the JetStream cluster
	simURL              string
	pausedSimURL        string
	workerConfig        string
	workers             []*proc
	gens                []int

	mu  sync.Mutex
	all []*proc
}

func newCluster(o Options, dir string, bins binaries) (*cluster, error) {
	c := &cluster{o: o, dir: dir, bins: bins, secret: "chaos-" + randid.Hex(16)}
	var err error
	if c.natsPort, err = freePort(); err != nil {
		return nil, err
	}
	if c.redisPort, err = freePort(); err != nil {
		return nil, err
	}
	if o.Cluster {
		if c.nodes, err = newNATSNodes(dir); err != nil {
			return nil, err
		}
	}
	return c, os.MkdirAll(filepath.Join(dir, "jetstream"), 0o755)
}

func (c *cluster) track(p *proc) *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, p)
	return p
}

// close SIGKILLs every process still running.
func (c *cluster) close() {
	c.mu.Lock()
	all := append([]*proc(nil), c.all...)
	c.mu.Unlock()
	for _, p := range all {
		p.kill()
	}
}

func (c *cluster) natsURL() string {
	if len(c.nodes) > 0 {
		return c.clusterURL()
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", c.natsPort)
}
func (c *cluster) redisAddr() string { return fmt.Sprintf("127.0.0.1:%d", c.redisPort) }
func (c *cluster) redisURL() string  { return "redis://" + c.redisAddr() + "/0" }

// natsMaxPayload is the chaos server's max_payload: a stock server's 1 MiB,
// written down so that a changed default cannot hide an oversized message.
const natsMaxPayload = 1 << 20

// startNATS runs nats-server on its port and store dir, the same on every restart.
func (c *cluster) startNATS() error {
	if len(c.nodes) > 0 {
		return c.startNATSCluster()
	}
	conf := filepath.Join(c.dir, "nats-server.conf")
	if err := os.WriteFile(conf, []byte("max_payload: "+strconv.Itoa(natsMaxPayload)+"\n"), 0o600); err != nil {
		return err
	}
	args := []string{"-c", conf, "-js", "-sd", filepath.Join(c.dir, "jetstream"), "-a", "127.0.0.1", "-p", strconv.Itoa(c.natsPort)}
	p, err := startProc("nats-server", filepath.Join(c.dir, "nats-server.log"), c.bins.NATS, args, nil)
	if err != nil {
		return err
	}
	c.nats = c.track(p)
	return waitDial(p, fmt.Sprintf("127.0.0.1:%d", c.natsPort), 20*time.Second)
}

func (c *cluster) stopNATS() error {
	sig := syscall.SIGTERM
	if c.o.NATSSignal == "kill" {
		sig = syscall.SIGKILL
	}
	err := c.nats.stop(sig, 20*time.Second)
	if sig == syscall.SIGKILL {
		return nil
	}
	return err
}

// startRedis runs a throwaway redis-server (no persistence) on its port.
func (c *cluster) startRedis() error {
	args := []string{"--port", strconv.Itoa(c.redisPort), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", c.dir, "--loglevel", "warning"}
	p, err := startProc("redis-server", filepath.Join(c.dir, "redis-server.log"), "redis-server", args, nil)
	if err != nil {
		return err
	}
	c.redis = c.track(p)
	if err := waitDial(p, c.redisAddr(), 10*time.Second); err != nil {
		return err
	}
	rc := redis.NewClient(&redis.Options{Addr: c.redisAddr(), MaxRetries: -1})
	defer rc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if rc.Ping(context.Background()).Err() == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s does not answer PING", c.redisAddr())
}

// startSim runs cmd/marketo-sim with the limits and the fault mix, keeping
// every answered record (/_sim/answered), and a second one without faults
// for PausedSub.
func (c *cluster) startSim() error {
	f := c.o.FaultRate
	rate := func(share float64) string { return strconv.FormatFloat(f*share, 'f', -1, 64) }
	limits := []string{
		"-addr", "127.0.0.1:0", "-seed", strconv.FormatUint(c.o.Seed, 10),
		"-calls-per-window", strconv.Itoa(c.o.Calls), "-window", c.o.Window.String(),
		"-concurrency", strconv.Itoa(c.o.Concurrency), "-latency", c.o.Latency.String(),
		"-call-log-size", "1000000",
	}
	args := append(slices.Clone(limits), "-answered-log-size", "10000000",
		"-rate-604", rate(0.2), "-rate-611", rate(0.2), "-rate-713", rate(0.2),
		"-rate-502", rate(0.2), "-rate-html", rate(0.1), "-rate-drop", rate(0.1),
	)
	var err error
	if c.sim, c.simURL, err = c.runSim("marketo-sim", args); err != nil {
		return err
	}
	c.pausedSim, c.pausedSimURL, err = c.runSim("marketo-sim-paused", limits)
	return err
}

func (c *cluster) runSim(name string, args []string) (*proc, string, error) {
	env := []string{"MARKETO_SIM_CLIENT_SECRET=" + c.secret}
	p, err := startProc(name, filepath.Join(c.dir, name+".log"), c.bins.Sim, args, env)
	if err != nil {
		return nil, "", err
	}
	c.track(p)
	line, err := p.waitLine("listening on http://", 20*time.Second)
	if err != nil {
		return nil, "", err
	}
	return p, strings.TrimSpace(line[strings.Index(line, "http://"):]), nil
}

// writeWorkerConfig writes the repostd configuration every replica (and
// repostctl) shares: the main subscription and PausedSub, each on its own
// simulator, and the run's expireMargin.
func (c *cluster) writeWorkerConfig() error {
	sub := func(id, endpoint string) string {
		return fmt.Sprintf(`  - id: %s
    endpoint: %s
    clientID: %s
    clientSecret: "${CHAOS_SIM_SECRET}"
    allowInsecure: true
    limits: {callsPerWindow: %d, window: %s, maxConcurrency: %d}
`, id, endpoint, marketotest.DefaultClientID, c.o.Calls, c.o.Window, c.o.Concurrency)
	}
	cfg := fmt.Sprintf(`nats: {url: %q, replicas: %d}
redis: {url: %q}
http: {addr: "127.0.0.1:0"}
dataDir: %q
worker: {shutdownTimeout: 3s, leaseTTL: %s, batchSize: %d, expireMargin: %s}
subscriptions:
`, c.natsURL(), c.o.replicas(), c.redisURL(), filepath.Join(c.dir, "data"), c.o.LeaseTTL, c.o.BatchSize, c.o.ExpireMargin) +
		sub(fixture.Sub, c.simURL) + sub(PausedSub, c.pausedSimURL)
	c.workerConfig = filepath.Join(c.dir, "repost.yaml")
	return os.WriteFile(c.workerConfig, []byte(cfg), 0o600)
}

// pause runs `repostctl subscription pause` for sub, as an operator would.
func (c *cluster) pause(ctx context.Context, sub, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bins.Repostctl, "--config", c.workerConfig,
		"subscription", "pause", sub, "--reason", reason, "--actor", "chaos")
	cmd.Env = append(os.Environ(), "CHAOS_SIM_SECRET="+c.secret)
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(c.dir, "repostctl.log"), out, 0o600)
	if err != nil {
		return fmt.Errorf("chaos: repostctl subscription pause %s: %w: %s", sub, err, out)
	}
	return nil
}

// startWorker starts (or restarts) replica slot; with wait, it waits for
// the replica's start line.
func (c *cluster) startWorker(slot int, wait bool) error {
	for len(c.workers) <= slot {
		c.workers = append(c.workers, nil)
		c.gens = append(c.gens, 0)
	}
	c.gens[slot]++
	name := fmt.Sprintf("repostd-%d.%d", slot, c.gens[slot])
	p, err := startProc(name, filepath.Join(c.dir, name+".log"), c.bins.Repostd,
		[]string{"--config", c.workerConfig}, []string{"CHAOS_SIM_SECRET=" + c.secret})
	if err != nil {
		return err
	}
	c.workers[slot] = c.track(p)
	if !wait {
		return nil
	}
	_, err = p.waitLine("repostd started", 30*time.Second)
	return err
}
