package worker

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// runSucceeded records later successful post-outs so that an event they
// supersede is skipped instead of reposted.
func (w *Worker) runSucceeded(ctx context.Context, cons jetstream.Consumer) {
	for ctx.Err() == nil {
		mb, err := cons.Fetch(500, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			sleepCtx(ctx, time.Second)
			continue
		}
		for m := range mb.Messages() {
			w.markSucceeded(ctx, m)
		}
	}
}

type successNotice struct {
	LeadID       string    `json:"leadId"`
	Subscription string    `json:"subscription"`
	At           time.Time `json:"at"`
}

func (w *Worker) markSucceeded(ctx context.Context, m jetstream.Msg) {
	var n successNotice
	if err := json.Unmarshal(m.Data(), &n); err != nil || n.LeadID == "" || n.Subscription == "" {
		w.log.Warn("ignoring malformed success notice", zap.String("subject", m.Subject()))
		_ = m.Term()
		return
	}
	if n.At.IsZero() {
		if md, err := m.Metadata(); err == nil {
			n.At = md.Timestamp
		}
	}
	if err := w.lim.MarkSuccess(ctx, n.Subscription, n.LeadID, n.At); err != nil {
		_ = m.NakWithDelay(2 * time.Second)
		return
	}
	_ = m.Ack()
}
