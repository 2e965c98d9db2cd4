package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// rig is one embedded NATS server and a publisher on it.
type rig struct {
	t   *testing.T
	url string
	pub *queue.Queue
}

func newRig(t *testing.T) *rig { return newRigWith(t, queue.Options{}) }

// newRigWith creates the streams with o (DupeWin: a short de-duplication
// window lets a test see an outcome published twice).
func newRigWith(t *testing.T, o queue.Options) *rig {
	t.Helper()
	e := testenv.NATS(t)
	return &rig{t: t, url: e.URL, pub: testenv.Queue(t, e.URL, o)}
}

func (r *rig) publish(events []fixture.Event) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < len(events); i += 1000 {
		b := r.pub.NewBatch()
		for _, e := range events[i:min(i+1000, len(events))] {
			b.Failed(e.Sub, e.ID, e.Data)
		}
		if err := b.Wait(ctx); err != nil {
			r.t.Fatalf("publish: %v", err)
		}
	}
}

// sub is a subscription served by a simulator.
type sub struct {
	id     string
	sim    *marketotest.Server
	url    string // where the client calls the simulator (a proxy in front of it); empty: sim.URL
	limits quota.Limits
	tokens marketo.TokenStore
}

// replica is one running worker.
type replica struct {
	w      *worker.Worker
	q      *queue.Queue
	cancel context.CancelFunc
	done   chan error
}

type replicaOptions struct {
	ackWait time.Duration
	queue   queue.Options // how the replica connects (AckWait aside)
	conn    *queue.Queue  // the replica's connection, made beforehand; nil: a new one
	mod     func(*worker.Config)
	wrap    func(*queue.Queue) worker.Queue // what the worker is given instead of the queue; nil: the queue
}

// startReplica runs a worker with its own NATS connection.
func (r *rig) startReplica(lim worker.Limiter, subs []sub, o replicaOptions) *replica {
	r.t.Helper()
	qo := o.queue
	qo.AckWait = o.ackWait
	q := o.conn
	if q == nil {
		q = testenv.Queue(r.t, r.url, qo)
	}
	pol, err := policy.New(policy.Config{Rand: func() float64 { return 0.5 },
		Backoff: policy.Backoff{Initial: 50 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.5}})
	if err != nil {
		r.t.Fatal(err)
	}
	cfg := worker.Config{Linger: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second,
		Logger: zaptest.NewLogger(r.t, zaptest.Level(zap.WarnLevel))}
	for _, s := range subs {
		endpoint := s.sim.URL
		if s.url != "" {
			endpoint = s.url
		}
		c, err := marketo.New(marketo.Config{Subscription: s.id, Endpoint: endpoint, AllowInsecure: true,
			ClientID: marketotest.DefaultClientID, ClientSecret: marketotest.DefaultClientSecret, Tokens: s.tokens,
			MaxConns: s.limits.MaxConcurrency})
		if err != nil {
			r.t.Fatal(err)
		}
		cfg.Subscriptions = append(cfg.Subscriptions, worker.Subscription{ID: s.id, Client: c, Limits: s.limits,
			Probe: func(ctx context.Context) error { _, err := c.Describe(ctx); return err }})
	}
	if o.mod != nil {
		o.mod(&cfg)
	}
	var wq worker.Queue = q
	if o.wrap != nil {
		wq = o.wrap(q)
	}
	w, err := worker.New(wq, lim, pol, cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rep := &replica{w: w, q: q, cancel: cancel, done: make(chan error, 1)}
	go func() { rep.done <- w.Run(ctx) }()
	r.t.Cleanup(func() { rep.stop(r.t) })
	return rep
}

func (rep *replica) stop(t *testing.T) {
	rep.cancel()
	select {
	case err := <-rep.done:
		if err != nil {
			t.Errorf("worker: %v", err)
		}
		rep.done <- nil
	case <-time.After(30 * time.Second):
		t.Errorf("worker did not stop")
	}
}

// outcomeCount is the number of outcomes stored (after de-duplication).
func (r *rig) outcomeCount() int {
	s, err := r.pub.JS.Stream(context.Background(), queue.StreamOutcomes)
	if err != nil {
		return -1
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return -1
	}
	return int(info.State.Msgs)
}

func (r *rig) waitOutcomes(n int, timeout time.Duration) {
	r.t.Helper()
	testenv.CheckFor(r.t, timeout, func() error {
		if got := r.outcomeCount(); got < n {
			return fmt.Errorf("%d of %d outcomes", got, n)
		}
		return nil
	})
}

// outcomes returns every outcome by eventId.
func (r *rig) outcomes() map[string][]repost.Outcome {
	r.t.Helper()
	// A cluster that just regained quorum may not answer the first read
	// ("no responders"): the read is tried again for a few seconds.
	var err error
	for range 10 {
		out := map[string][]repost.Outcome{}
		err = r.pub.ScanOutcomes(context.Background(), "", func(m queue.StoredMsg) (bool, error) {
			var o repost.Outcome
			if err := json.Unmarshal(m.Data, &o); err != nil {
				return false, err
			}
			out[o.EventID] = append(out[o.EventID], o)
			return true, nil
		})
		if err == nil {
			return out
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.t.Fatal(err)
	return nil
}

// parked returns every parked entry by eventId.
func (r *rig) parked() map[string]*repost.ParkedLead {
	r.t.Helper()
	out := map[string]*repost.ParkedLead{}
	err := r.pub.ScanParked(context.Background(), "", func(m queue.StoredMsg) (bool, error) {
		p, err := repost.DecodeParkedLead(m.Data)
		if err != nil {
			return false, err
		}
		out[p.EventID] = p
		return true, nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func httpGet(url string) (*http.Response, error) { return http.Get(url) }
