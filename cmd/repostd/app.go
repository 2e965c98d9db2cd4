package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/connect"
	"github.com/leadops/repost/internal/console"
	"github.com/leadops/repost/internal/redact"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// app is a wired repostd: NATS (embedded or remote), the limiter (Redis or
// in-process), one Marketo client per subscription, the worker and its
// HTTP listener.
type app struct {
	cfg    *config.Config
	log    *zap.Logger
	emb    *queue.Embedded
	q      *queue.Queue
	store  quota.Store
	rdb    redis.UniversalClient
	reg    *prometheus.Registry
	w      *worker.Worker
	srv    *http.Server
	ui     *console.Console // nil when http.ui.enabled is false
	ln     net.Listener
	closed sync.Once
}

// appOptions adjust the wiring for the demo and tests.
type appOptions struct {
	httpClient *http.Client     // Marketo transport; nil: the tuned default
	now        func() time.Time // clock; nil: time.Now
	owner      string           // replica name
}

// newApp connects everything the configuration names. On error, whatever
// was started is closed again.
func newApp(ctx context.Context, cfg *config.Config, log *zap.Logger, o appOptions) (_ *app, err error) {
	a := &app{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil { // a, not the result: every error return has set that to nil
			a.close()
		}
	}()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err = a.connectNATS(ctx); err != nil {
		return nil, err
	}
	tokens, err := a.connectLimiter(ctx, o.now)
	if err != nil {
		return nil, err
	}
	overrides, err := cfg.PolicyOverrides()
	if err != nil {
		return nil, err
	}
	pol, err := policy.New(policy.Config{MaxAttempts: cfg.Policy.MaxAttempts, Overrides: overrides, Rand: lockedRand()})
	if err != nil {
		return nil, err
	}
	subs, err := a.subscriptions(tokens, o)
	if err != nil {
		return nil, err
	}
	a.w, err = worker.New(a.q, a.store, pol, worker.Config{
		Subscriptions: subs, Linger: cfg.Worker.Linger, BatchSize: cfg.Worker.BatchSize,
		FetchSize: cfg.Worker.FetchBatch, ShutdownTimeout: cfg.Worker.ShutdownTimeout,
		ClaimTTL:     cfg.Worker.LeaseTTL, // a killed replica's claims free up like its leases
		ExpireMargin: cfg.Worker.ExpireMargin, ExpireScan: expireScan(cfg.Worker.ExpireMargin),
		Version: version, Owner: o.owner, Now: o.now, Logger: log, Registerer: a.reg,
	})
	if err != nil {
		return nil, err
	}
	a.ln, err = net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return nil, fmt.Errorf("http: listen on %s: %w", cfg.HTTP.Addr, err)
	}
	var mounts []worker.Mount
	if cfg.HTTP.UI.Enabled {
		if a.ui, err = a.newConsole(); err != nil {
			return nil, err
		}
		mounts = append(mounts, worker.Mount{Pattern: console.Prefix, Handler: a.ui.Handler()})
	}
	a.srv = &http.Server{Handler: a.w.Handler(a.reg, mounts...), ReadHeaderTimeout: 5 * time.Second}
	return a, nil
}

func (a *app) connectNATS(ctx context.Context) error {
	url := a.cfg.NATS.URL.Reveal()
	if url == "" {
		emb, err := queue.StartEmbedded(a.cfg.DataDir, 0)
		if err != nil {
			return err
		}
		a.emb, url = emb, emb.URL
		a.log.Info("embedded NATS started", zap.String("url", url), zap.String("dataDir", a.cfg.DataDir))
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// The worker logs and counts disconnects and reconnects (repost_nats_connected).
	q, err := queue.Connect(cctx, connect.QueueOptions(a.cfg, url, "repostd"))
	if err != nil {
		return err
	}
	a.q = q
	return nil
}

// connectLimiter opens Redis when configured, else in-process limits (one
// replica only). It returns the token store the Marketo clients share.
func (a *app) connectLimiter(ctx context.Context, now func() time.Time) (marketo.TokenStore, error) {
	url := a.cfg.Redis.URL.Reveal()
	if url == "" {
		a.log.Warn("no Redis URL: limits are kept in this process; run ONE replica only, or Marketo's limits will be exceeded")
		a.store = quota.NewMemory(quota.MemoryOptions{Now: now})
		return marketo.NewMemoryTokenStore(), nil
	}
	connect.LogRedisTo(a.log) // go-redis's own messages as zap lines, not stderr text
	rdb, err := connect.Redis(a.cfg.Redis)
	if err != nil {
		return nil, err
	}
	a.rdb = rdb
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.rdb.Ping(pctx).Err(); err != nil {
		if redis.IsAuthError(err) { // a wrong password does not heal by waiting: exit 1
			return nil, fmt.Errorf("redis: %s", redact.String(err.Error(), append(redact.InURL(url), a.cfg.Redis.Password.Reveal())...))
		}
		// Not fatal: admission fails closed until Redis answers.
		a.log.Warn("Redis not reachable yet; nothing is admitted until it is", zap.Error(err))
	}
	a.store = quota.NewRedis(a.rdb, quota.RedisOptions{Now: now})
	secrets := map[string]string{} // the shared token is sealed with a key derived from these
	for _, s := range a.cfg.Subscriptions {
		secrets[s.ID] = s.ClientSecret.Reveal()
	}
	return quota.NewRedisTokenStore(a.rdb, quota.TokenStoreOptions{Secrets: secrets}), nil
}

func (a *app) subscriptions(tokens marketo.TokenStore, o appOptions) ([]worker.Subscription, error) {
	var subs []worker.Subscription
	for _, s := range a.cfg.Subscriptions {
		client, err := marketo.New(marketo.Config{
			Subscription: s.ID, Endpoint: s.Endpoint, ClientID: s.ClientID,
			ClientSecret: s.ClientSecret.Reveal(), AllowInsecure: s.AllowInsecure,
			Tokens: tokens, HTTPClient: o.httpClient, MaxConns: s.Limits.MaxConcurrency,
			OnCall: a.logCall, Logger: a.log, Now: o.now,
		})
		if err != nil {
			return nil, fmt.Errorf("subscription %s: %w", s.ID, err)
		}
		subs = append(subs, worker.Subscription{
			ID: s.ID, Client: client,
			Limits: quota.Limits{DailyQuota: s.Limits.DailyQuota, CallsPerWindow: s.Limits.CallsPerWindow,
				Window: s.Limits.Window, MaxConcurrency: s.Limits.MaxConcurrency, LeaseTTL: a.cfg.Worker.LeaseTTL},
			Probe: func(ctx context.Context) error { _, err := client.Describe(ctx); return err },
		})
	}
	return subs, nil
}

// logCall logs the HTTP exchanges the worker does not: identity and probe
// calls at info; lead calls (which the worker logs with their record codes)
// only at debug, with their bodies, which hold lead data.
func (a *app) logCall(r marketo.CallRecord) {
	lead := strings.HasSuffix(r.Path, "/leads.json") || strings.HasSuffix(r.Path, "/push.json")
	if lead && !a.cfg.Log.Debug {
		return
	}
	fields := []zap.Field{
		zap.String("subscription", r.Subscription), zap.String("method", r.Method), zap.String("path", r.Path),
		zap.Int("leads", r.Records), zap.Int("status", r.Status), zap.String("code", r.Code),
		zap.String("requestId", r.RequestID), zap.Duration("duration", r.Duration),
	}
	if r.Err != "" {
		fields = append(fields, zap.String("error", r.Err))
	}
	if a.cfg.Log.Debug {
		fields = append(fields, zap.ByteString("request", r.RequestBody), zap.ByteString("response", r.ResponseBody))
	}
	if lead {
		a.log.Debug("marketo exchange", fields...)
		return
	}
	a.log.Info("marketo call", fields...)
}

// run serves until ctx ends, then shuts down in order: the worker stops
// fetching and finishes or hands back in-flight work (releasing its leases),
// the HTTP listener closes, NATS drains, Redis closes, the embedded server stops.
func (a *app) run(ctx context.Context) error {
	httpErr := make(chan error, 1)
	go func() { httpErr <- a.srv.Serve(a.ln) }()
	if a.ui != nil {
		go a.ui.Run(ctx)
	}
	a.log.Info("repostd started", zap.String("version", version), zap.String("http", a.ln.Addr().String()))
	err := a.w.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = a.srv.Shutdown(sctx)
	if herr := <-httpErr; herr != nil && !errors.Is(herr, http.ErrServerClosed) && err == nil {
		err = herr
	}
	a.close()
	return err
}

func (a *app) close() {
	a.closed.Do(func() {
		if a.ln != nil && a.srv == nil {
			_ = a.ln.Close()
		}
		if a.q != nil {
			a.q.Close()
		}
		if a.store != nil {
			_ = a.store.Close()
		}
		if a.rdb != nil {
			_ = a.rdb.Close()
		}
		if a.emb != nil {
			a.emb.Shutdown()
		}
		_ = a.log.Sync()
	})
}

// lockedRand is the jitter source of the policy, safe for concurrent use.
func lockedRand() func() float64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x7265706f7374))
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}

// expireScan is how often the expiry loop looks at the oldest events: the
// worker's default (1 min), or a sixth of a shorter expireMargin (at least
// 1 s), so that an event crossing the line is parked well before it ages
// out even when the margin is set short (the chaos run shortens the
// stream's max age and the margin to seconds).
func expireScan(margin time.Duration) time.Duration {
	return min(worker.DefaultExpireScan, max(margin/6, time.Second))
}
