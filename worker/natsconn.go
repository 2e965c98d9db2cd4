package worker

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/leadops/repost/queue"
)

// watchNATS exports the NATS connection's state, read from the connection
// at every scrape, and logs each disconnect and reconnect: a replica cut
// off from NATS fetches nothing, and the RepostNATSDisconnected alert reads
// repost_nats_connected.
func (w *Worker) watchNATS(reg prometheus.Registerer) {
	q := w.q
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "repost_nats_connected", Help: "1 while this replica is connected to NATS, 0 while it reconnects.",
		}, func() float64 {
			if q.Connected() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "repost_nats_reconnects_total", Help: "Times this replica's NATS connection came back after a drop.",
		}, func() float64 { return float64(q.Reconnects()) }))
	q.WatchConn(func(ev queue.ConnEvent) {
		if ev.Connected {
			w.log.Info("NATS reconnected", zap.String("server", ev.Server), zap.Uint64("reconnects", q.Reconnects()))
			return
		}
		w.log.Warn("NATS disconnected; reconnecting", zap.String("server", ev.Server), zap.Error(ev.Err))
	})
}

// untilAnswered runs fn until it succeeds, returns an error JetStream
// meant (a refusal, a bad name), or ctx ends. A request that timed out or
// found no JetStream to answer it is retried every second: a replica that
// starts while its cluster elects a leader, or while NATS restarts, waits
// for it instead of exiting.
func (w *Worker) untilAnswered(ctx context.Context, what string, fn func() error) error {
	for {
		err := fn()
		if err == nil || ctx.Err() != nil || !unanswered(err) {
			return err
		}
		w.log.Warn("JetStream did not answer; retrying", zap.String("what", what), zap.Error(err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

// unanswered reports whether err says JetStream did not answer, rather
// than answered no.
func unanswered(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code == http.StatusServiceUnavailable // no meta leader, no quorum
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}
