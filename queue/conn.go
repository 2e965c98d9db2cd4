package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost/internal/redact"
)

// Options say how to reach NATS and how to lay out what repost creates.
type Options struct {
	URL       string // nats://host:4222; required (see Embedded for none)
	User      string
	Password  string // never logged
	CredsFile string
	CAFile    string // TLS: trust these roots
	CertFile  string // TLS client certificate
	KeyFile   string
	Name      string // connection name shown by the server

	Prefix   string                // subject prefix; DefaultPrefix when empty
	Replicas int                   // stream replicas when creating; 1 when 0
	Storage  jetstream.StorageType // file (default) or memory
	MaxAge   time.Duration         // age limit of POSTOUT_FAILED; 14 days when 0
	DupeWin  time.Duration         // de-duplication window of outcome and parked streams; 24 h when 0
	AckWait  time.Duration         // consumers' ack wait; 2 min when 0
	// FailedDupeWin is POSTOUT_FAILED's de-duplication window; 2 h when 0
	// (at most MaxAge). repostctl's import and requeue do not rely on it:
	// they keep a ledger (ledger.go). Tests shorten it to get past it.
	FailedDupeWin time.Duration
	// PublishTimeout fails a publication JetStream has not acknowledged
	// by then (its stream leader died holding it); 20 s when 0.
	PublishTimeout time.Duration
}

// Queue is a connection to JetStream with repost's subjects.
type Queue struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	Subjects Subjects
	opts     Options
	events   jetstream.KeyValue
	denied   *denials
	watch    *connWatch

	mu     sync.Mutex
	failed jetstream.Stream // the failed stream's handle, once looked up
}

// Connect dials NATS and returns a Queue. It retries the first connection
// until ctx ends, and reconnects forever afterwards: a worker outliving a NATS
// restart is the normal case, not an error.
func Connect(ctx context.Context, o Options) (*Queue, error) {
	if o.URL == "" {
		return nil, errors.New("queue: no NATS URL")
	}
	nopts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.PingInterval(10 * time.Second),
	}
	if o.User != "" {
		nopts = append(nopts, nats.UserInfo(o.User, o.Password))
	}
	if o.CredsFile != "" {
		nopts = append(nopts, nats.UserCredentials(o.CredsFile))
	}
	if o.CAFile != "" || o.CertFile != "" {
		tc, err := tlsConfig(o.CAFile, o.CertFile, o.KeyFile)
		if err != nil {
			return nil, err
		}
		nopts = append(nopts, nats.Secure(tc))
	}
	denied := &denials{}
	nopts = append(nopts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { denied.record(err) }))
	watch := &connWatch{}
	nopts = append(nopts, watch.options()...)
	nc, err := nats.Connect(o.URL, nopts...)
	if err != nil {
		secrets := append(redact.InURL(o.URL), redact.TokensInURL(o.URL)...)
		return nil, fmt.Errorf("queue: connect: %w", redact.Error(err, append(secrets, o.Password)...))
	}
	if err := waitConnected(ctx, nc, redactedURL(o.URL)); err != nil {
		nc.Close()
		return nil, err
	}
	// A publication the server drops (refused, or lost with a server) gets
	// no answer: without a timeout its batch would wait forever.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(orDefault(o.PublishTimeout, publishTimeout)))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("queue: jetstream: %w", err)
	}
	watch.connected(nc)
	return &Queue{NC: nc, JS: js, Subjects: Subjects{Prefix: o.Prefix}, opts: o, denied: denied, watch: watch}, nil
}

func waitConnected(ctx context.Context, nc *nats.Conn, url string) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !nc.IsConnected() {
		if nc.IsClosed() { // nats.go gives up on a repeated authorization error: so do we
			return fmt.Errorf("queue: NATS refused the connection: %v", nc.LastError())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("queue: NATS not reachable at %s: %w", url, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

func tlsConfig(ca, cert, key string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("queue: tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("queue: tls ca %s: no certificate found", ca)
		}
		tc.RootCAs = pool
	}
	if cert != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("queue: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}

// Close drains the connection: pending publications are flushed first.
func (q *Queue) Close() {
	if q == nil || q.NC == nil {
		return
	}
	_ = q.NC.Drain()
	deadline := time.Now().Add(5 * time.Second)
	for !q.NC.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	q.NC.Close()
}

// redactedURL is a NATS URL list fit for a message: user information removed.
func redactedURL(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = nil
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}
