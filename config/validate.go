package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ValidationError is one problem in a configuration, named by the YAML path
// of the field at fault (subscriptions[1].limits.window). Validate and Load
// return several of them joined with errors.Join; find one with errors.As.
// Reasons never quote a secret or a URL (URLs may hold passwords).
type ValidationError struct {
	Field  string // YAML path: nats.url, subscriptions[1].limits.window, policy.overrides.1004
	Reason string // what is wrong, e.g. "must be > 0"
	Line   int    // line in the file when known, else 0
	Err    error  // the cause when there is one (policy.ErrUnknownAction, fs.ErrNotExist), else nil
}

func (e *ValidationError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: %s (line %d)", e.Field, e.Reason, e.Line)
	}
	return e.Field + ": " + e.Reason
}

// Unwrap returns the cause, so that errors.Is(err, policy.ErrUnknownAction)
// works through Load and Validate.
func (e *ValidationError) Unwrap() error { return e.Err }

// MunchkinID is the shape of a subscription ID: three digits, three capital
// letters, three digits (123-ABC-456). The ID is also a NATS subject token and
// part of a consumer name (repost-123-ABC-456), so nothing else may pass: no
// dots, spaces or wildcards.
var MunchkinID = regexp.MustCompile(`^\d{3}-[A-Z]{3}-\d{3}$`)

// problems collects ValidationErrors.
type problems []error

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// wrap adds a problem caused by err; the reason is err's message.
func (p *problems) wrap(field string, err error) {
	*p = append(*p, &ValidationError{Field: field, Reason: err.Error(), Err: err})
}

func (p *problems) positive(field string, v int64) {
	if v <= 0 {
		p.add(field, "must be > 0")
	}
}

// Validate checks every field and returns all problems joined, each a
// *ValidationError naming its field; nil when the configuration is usable.
// It never changes a value.
func (c *Config) Validate() error { return c.validate(true) }

// validate is Validate; requireSecrets false leaves out the check that
// each subscription has a Marketo client secret (LoadWithoutSecrets).
func (c *Config) validate(requireSecrets bool) error {
	var p problems
	c.NATS.validate(&p)
	c.Redis.validate(&p)
	if strings.TrimSpace(c.DataDir) == "" {
		p.add("dataDir", "must not be empty")
	}
	if err := checkHostPort(c.HTTP.Addr); err != "" {
		p.add("http.addr", "%s", err)
	}
	c.HTTP.UI.validate(&p)
	p = append(p, c.policyProblems()...)
	c.Worker.validate(&p)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	validateSubscriptions(c.Subscriptions, requireSecrets, &p)
	return errors.Join(p...)
}

func (n *NATS) validate(p *problems) {
	if n.URL == "" {
		if n.User != "" || n.Password != "" || n.CredsFile != "" || n.TLS.Enabled() {
			p.add("nats.url", "required when nats credentials or tls are set (empty means an embedded server)")
		}
	} else {
		for _, s := range strings.Split(n.URL.Reveal(), ",") {
			if reason := checkServerURL(strings.TrimSpace(s), "nats", "tls", "ws", "wss"); reason != "" {
				p.add("nats.url", "%s", reason)
			}
		}
	}
	if n.Password != "" && n.User == "" {
		p.add("nats.user", "required with nats.password")
	}
	if n.CredsFile != "" && n.User != "" {
		p.add("nats.credsFile", "set either credsFile or user/password, not both")
	}
	validateTLS(n.TLS, "nats.tls", p)
	if reason := checkSubjectPrefix(n.SubjectPrefix); reason != "" {
		p.add("nats.subjectPrefix", "%s", reason)
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		p.add("nats.replicas", "must be 1..5 (JetStream's limit), got %d", n.Replicas)
	}
	if n.Storage != "file" && n.Storage != "memory" {
		p.add("nats.storage", "%q is not file or memory", n.Storage)
	}
	if n.AckWait < 5*time.Second {
		p.add("nats.ackWait", "must be at least 5s, got %s", n.AckWait)
	}
}

func (r *Redis) validate(p *problems) {
	if r.URL == "" {
		if r.Password != "" || r.TLS.Enabled() {
			p.add("redis.url", "required when redis.password or redis.tls is set (empty means in-process limits)")
		}
		return
	}
	raw := r.URL.Reveal()
	switch r.Mode {
	case "", RedisStandalone, RedisSentinel, RedisCluster:
	default:
		p.add("redis.mode", "%q is not standalone, sentinel or cluster", r.Mode)
		return
	}
	if reason := checkServerURL(raw, "redis", "rediss", "unix"); reason != "" {
		p.add("redis.url", "%s", reason)
		return
	}
	u, _ := url.Parse(raw) // parsed by checkServerURL
	switch {
	case r.Mode == RedisSentinel && u.Query().Get("master_name") == "":
		p.add("redis.url", "sentinel mode needs ?master_name=<name> (the sentinels' name for the primary)")
	case r.Mode == RedisCluster && strings.Trim(u.Path, "/") != "":
		p.add("redis.url", "cluster mode has no database number (cluster nodes only have db 0)")
	case (r.Mode == RedisSentinel || r.Mode == RedisCluster) && u.Scheme == "unix":
		p.add("redis.url", "%s mode needs redis:// or rediss:// addresses", r.Mode)
	}
	if _, set := u.User.Password(); set && r.Password != "" {
		p.add("redis.password", "the password is also in redis.url: set it in one place")
	}
	if u.Scheme != "unix" {
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				p.add("redis.url", "path must be a database number (/0)")
			}
		}
	}
	if r.TLS.Enabled() && u.Scheme != "rediss" {
		p.add("redis.tls", "requires a rediss:// url")
	}
	validateTLS(r.TLS, "redis.tls", p)
}

func validateTLS(t TLS, field string, p *problems) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		p.add(field, "certFile and keyFile go together")
	}
}

func (u *UI) validate(p *problems) {
	if u.Refresh < time.Second || u.Refresh > time.Minute {
		p.add("http.ui.refresh", "must be 1s..1m, got %s", u.Refresh)
	}
	if u.ShowLeadData && !u.Enabled {
		p.add("http.ui.showLeadData", "true while http.ui.enabled is false: enable the console or drop showLeadData")
	}
}

func (w *Worker) validate(p *problems) {
	if w.Linger < 0 {
		p.add("worker.linger", "must be >= 0")
	}
	if w.BatchSize < 1 || w.BatchSize > MaxBatchSize {
		p.add("worker.batchSize", "must be 1..%d (Marketo's cap per call), got %d", MaxBatchSize, w.BatchSize)
	}
	p.positive("worker.fetchBatch", int64(w.FetchBatch))
	p.positive("worker.shutdownTimeout", int64(w.ShutdownTimeout))
	p.positive("worker.leaseTTL", int64(w.LeaseTTL))
	p.positive("worker.expireMargin", int64(w.ExpireMargin))
}

// checkServerURL returns why s is not a URL with one of the schemes and a
// host (a path for unix), or "". It never quotes s: it may hold a password.
func checkServerURL(s string, schemes ...string) string {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return "not a valid URL"
	}
	ok := false
	for _, sc := range schemes {
		ok = ok || u.Scheme == sc
	}
	switch {
	case !ok:
		return fmt.Sprintf("scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))
	case u.Scheme == "unix" && u.Path == "":
		return "unix:// needs a socket path"
	case u.Scheme != "unix" && u.Host == "":
		return "needs a host"
	case u.Fragment != "":
		return "must not have a fragment"
	}
	return ""
}

// checkHostPort returns why addr is not host:port with a numeric port, or "".
func checkHostPort(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("port %q is not a number 0..65535", port)
	}
	return ""
}

// checkSubjectPrefix returns why s cannot start a NATS subject, or "".
func checkSubjectPrefix(s string) string {
	if s == "" {
		return "must not be empty"
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return fmt.Sprintf("%q is not dot-separated NATS tokens (no empty token, space, * or >)", s)
		}
	}
	return ""
}
