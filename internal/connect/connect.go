// Package connect turns the configuration into connections: the options of
// the NATS queue and the Redis client (standalone, Sentinel or Cluster), the
// same for repostd and repostctl.
package connect

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/redact"
	"github.com/leadops/repost/queue"
)

// QueueOptions are the options of a NATS connection named name to url
// (the configured URL, or an embedded server's).
func QueueOptions(cfg *config.Config, url, name string) queue.Options {
	storage := jetstream.FileStorage
	if cfg.NATS.Storage == "memory" {
		storage = jetstream.MemoryStorage
	}
	n := cfg.NATS
	return queue.Options{
		URL: url, User: n.User, Password: n.Password.Reveal(), CredsFile: n.CredsFile,
		CAFile: n.TLS.CAFile, CertFile: n.TLS.CertFile, KeyFile: n.TLS.KeyFile,
		Name: name, Prefix: n.SubjectPrefix, Replicas: n.Replicas, Storage: storage, AckWait: n.AckWait,
	}
}

// Redis opens the configured Redis: one server, a primary found through
// Sentinel, or a Cluster (every key of a subscription shares a hash tag, so
// the admission script runs on Cluster too). It returns nil when no Redis is
// configured. Errors never hold the password.
func Redis(r config.Redis) (redis.UniversalClient, error) {
	url := r.URL.Reveal()
	if url == "" {
		return nil, nil
	}
	var tc *tls.Config
	if r.TLS.Enabled() {
		var err error
		if tc, err = TLS(r.TLS, "redis.tls"); err != nil {
			return nil, err
		}
	}
	password := r.Password.Reveal()
	switch r.Mode {
	case config.RedisSentinel:
		o, err := redis.ParseFailoverURL(url)
		if err != nil {
			return nil, urlError(err, url)
		}
		o.Password = or(password, o.Password)
		if tc != nil {
			o.TLSConfig = tc
		}
		return redis.NewFailoverClient(o), nil
	case config.RedisCluster:
		o, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, urlError(err, url)
		}
		o.Password = or(password, o.Password)
		if tc != nil {
			o.TLSConfig = tc
		}
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, urlError(err, url)
	}
	o.Password = or(password, o.Password)
	if tc != nil {
		o.TLSConfig = tc
	}
	return redis.NewClient(o), nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// urlError reports a bad Redis URL without the password it may hold.
func urlError(err error, url string) error {
	return fmt.Errorf("redis.url: %s", redact.String(err.Error(), redact.InURL(url)...))
}

// TLS is the client TLS configuration of PEM files; field names the
// configuration block in errors.
func TLS(t config.TLS, field string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.caFile: %w", field, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.caFile: no certificate in %s", field, t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		c, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s.certFile: %w", field, err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}
