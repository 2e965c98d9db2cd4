package worker

import (
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
