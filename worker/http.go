package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/leadops/repost/quota"
)

// Handler serves /metrics (from gatherer), /healthz (the process runs) and
// /readyz (NATS connected, the limiter's store answering, and not shutting
// down; halted subscriptions are
// listed in the detail but do not make the replica unready, since the others
// still work).
// Each mount adds a handler under its pattern (repostd's console at /ui/).
func (w *Worker) Handler(gatherer prometheus.Gatherer, mounts ...Mount) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		_, _ = rw.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", w.readyz)
	for _, m := range mounts {
		mux.Handle(m.Pattern, m.Handler)
	}
	return mux
}

// Mount is a handler served next to /metrics under Pattern.
type Mount struct {
	Pattern string
	Handler http.Handler
}

// pinger is a limiter backed by a store that can be unreachable (*quota.Redis).
type pinger interface {
	Ping(ctx context.Context) error
}

var _ pinger = (*quota.Redis)(nil)

// Readiness is the body of /readyz.
type Readiness struct {
	Ready bool   `json:"ready"`
	NATS  string `json:"nats"`
	// Redis is "ok", "unreachable", or absent for an in-process limiter.
	Redis  string            `json:"redis,omitempty"`
	Halted map[string]string `json:"halted,omitempty"`
	Quotas map[string]string `json:"quota,omitempty"`
	// Paused lists the operators' pauses in force: "reason (actor, until T)".
	Paused map[string]string `json:"paused,omitempty"`
}

// Readiness reports what /readyz serves.
func (w *Worker) Readiness(ctx context.Context) Readiness {
	r := Readiness{NATS: "connected"}
	if !w.q.Connected() {
		r.NATS = w.q.ConnStatus()
	}
	w.mu.Lock()
	stopped := w.stopped
	if len(w.halts) > 0 {
		r.Halted = map[string]string{}
		for k, v := range w.halts {
			r.Halted[k] = v
		}
	}
	w.mu.Unlock()
	r.Ready = !stopped && w.q.Connected()
	if p, ok := w.lim.(pinger); ok {
		// Unreachable, the limiter admits nothing (fail closed): a replica
		// that cannot call Marketo is not ready.
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := p.Ping(pctx)
		cancel()
		r.Redis = "ok"
		if err != nil {
			r.Redis, r.Ready = "unreachable", false
			w.log.Warn("readyz: redis unreachable", zap.Error(err))
		}
	}
	r.Paused = pauseDetail(w.pausedNow())
	return r
}

func (w *Worker) readyz(rw http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	r := w.Readiness(ctx)
	rw.Header().Set("Content-Type", "application/json")
	if !r.Ready {
		rw.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(rw).Encode(r)
}
