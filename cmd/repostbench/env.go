package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// machine describes where the figures were measured.
func machine() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		mem = strings.Join(strings.Fields(line)[1:], " ")
	}
	return fmt.Sprintf("%d CPUs (%s), MemTotal %s, %s %s/%s", runtime.NumCPU(), model, mem,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// redisServer is a throwaway redis-server on a free port.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
}

func startRedis(dir string) (*redisServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	r := &redisServer{addr: addr, cmd: cmd}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return r, nil
		}
	}
	r.stop()
	return nil, fmt.Errorf("redis-server on %s did not start", addr)
}

func (r *redisServer) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// replica is an in-process worker with its own NATS connection.
type replica struct {
	q      *queue.Queue
	cancel context.CancelFunc
	done   chan error
}

func startReplica(url string, lim worker.Limiter, tokens marketo.TokenStore, sim *marketotest.Server, limits quota.Limits, fetch int) (*replica, error) {
	ctx, cancel := context.WithCancel(context.Background())
	q, err := queue.Connect(ctx, queue.Options{URL: url})
	if err != nil {
		cancel()
		return nil, err
	}
	pol, _ := policy.New(policy.Config{})
	c, err := marketo.New(marketo.Config{Subscription: fixture.Sub, Endpoint: sim.URL, AllowInsecure: true,
		ClientID: marketotest.DefaultClientID, ClientSecret: marketotest.DefaultClientSecret, Tokens: tokens,
		MaxConns: limits.MaxConcurrency})
	if err != nil {
		cancel()
		return nil, err
	}
	w, err := worker.New(q, lim, pol, worker.Config{Logger: zap.NewNop(), FetchSize: fetch,
		Subscriptions: []worker.Subscription{{ID: fixture.Sub, Client: c, Limits: limits}}})
	if err != nil {
		cancel()
		return nil, err
	}
	r := &replica{q: q, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx); q.Close() }()
	return r, nil
}

func (r *replica) stop() error {
	r.cancel()
	return <-r.done
}

// publish puts events on the failed subjects, acknowledged.
func publish(ctx context.Context, q *queue.Queue, events []fixture.Event) error {
	for i := 0; i < len(events); i += 2000 {
		b := q.NewBatch()
		for _, e := range events[i:min(i+2000, len(events))] {
			b.Failed(e.Sub, e.ID, e.Data)
		}
		if err := b.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

func okEvents(n int) []fixture.Event {
	at := time.Now()
	evs := make([]fixture.Event, n)
	for i := range evs {
		evs[i] = fixture.Build(i, fixture.KindOK, at, fixture.Sub)
	}
	return evs
}

// outcomes is the number of outcomes stored.
func outcomes(ctx context.Context, q *queue.Queue) int {
	s, err := q.JS.Stream(ctx, queue.StreamOutcomes)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return int(info.State.Msgs)
}

func waitOutcomes(ctx context.Context, q *queue.Queue, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for outcomes(ctx, q) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d outcomes after %s", outcomes(ctx, q), n, timeout)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
