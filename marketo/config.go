package marketo

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxConns    = 10
	DefaultTimeout     = 90 * time.Second
	DefaultReadLimit   = 4 << 20
	DefaultTokenMargin = 60 * time.Second
	// RecordBodyLimit is how much of a request or response body a CallRecord keeps.
	RecordBodyLimit = 8 << 10
)

// Config configures the Client of one subscription.
type Config struct {
	// Subscription is the Munchkin ID (123-ABC-456): the TokenStore key and a
	// label on every CallRecord.
	Subscription string
	// Endpoint is the REST base (https://123-ABC-456.mktorest.com); identity is
	// <Endpoint>/identity. A trailing /rest is accepted and removed.
	Endpoint     string
	ClientID     string
	ClientSecret string
	// AllowInsecure allows an http:// Endpoint (simulators, tests).
	AllowInsecure bool
	// Tokens shares the access token between replicas; nil is an in-memory store.
	Tokens TokenStore
	// HTTPClient replaces the tuned default client. The client given should
	// not follow redirects.
	HTTPClient *http.Client
	// MaxConns is the subscription's concurrency (default 10): the default
	// transport keeps at least that many idle connections.
	MaxConns int
	// Timeout bounds one HTTP exchange (default 90 s, Marketo's own timeout
	// for lead writes). Identity calls use the smaller of Timeout and 30 s.
	Timeout time.Duration
	// ReadLimit caps an answer body (default 4 MB); beyond it the answer is a
	// *BadResponseError.
	ReadLimit int64
	// TokenMargin: a token is refreshed this long before it expires (default
	// 60 s, at most half of the token's lifetime).
	TokenMargin time.Duration
	// OnCall receives every CallRecord (identity included). It must not block.
	OnCall func(CallRecord)
	// Logger logs token refreshes and reauthentications; nil logs nothing.
	Logger *zap.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Client talks to one subscription's REST API. It is safe for concurrent use.
type Client struct {
	cfg      Config
	base     string // scheme://host[/prefix], no trailing slash
	hc       *http.Client
	tokens   TokenStore
	log      *zap.Logger
	now      func() time.Time
	redactor *redactor
	sf       singleflight.Group
	local    tokenCache
	scope    atomic.Pointer[string] // the API user of the last identity answer

	// Tuning for the token refresh, changed by tests.
	identityTimeout time.Duration
	lockTTL         time.Duration
	pollEvery       time.Duration
	zeroPause       time.Duration
	zeroTries       int
}

// New validates cfg, applies the defaults and returns a Client. It makes no call.
func New(cfg Config) (*Client, error) {
	base, err := validate(&cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg: cfg, base: base, hc: cfg.HTTPClient, tokens: cfg.Tokens,
		log: cfg.Logger, now: cfg.Now,
		redactor:        newRedactor(cfg.ClientSecret),
		identityTimeout: min(cfg.Timeout, 30*time.Second),
		pollEvery:       100 * time.Millisecond,
		zeroPause:       time.Second,
		zeroTries:       5,
	}
	c.lockTTL = c.identityTimeout + 5*time.Second
	if c.hc == nil {
		c.hc = NewHTTPClient(cfg.MaxConns)
	}
	if c.tokens == nil {
		c.tokens = NewMemoryTokenStore()
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func validate(cfg *Config) (string, error) {
	switch {
	case strings.TrimSpace(cfg.Subscription) == "":
		return "", &ConfigError{"Subscription", "required"}
	case cfg.ClientID == "":
		return "", &ConfigError{"ClientID", "required"}
	case cfg.ClientSecret == "":
		return "", &ConfigError{"ClientSecret", "required"}
	case cfg.MaxConns < 0:
		return "", &ConfigError{"MaxConns", "must not be negative"}
	case cfg.Timeout < 0:
		return "", &ConfigError{"Timeout", "must not be negative"}
	case cfg.ReadLimit < 0:
		return "", &ConfigError{"ReadLimit", "must not be negative"}
	case cfg.TokenMargin < 0:
		return "", &ConfigError{"TokenMargin", "must not be negative"}
	}
	base, err := parseEndpoint(cfg.Endpoint, cfg.AllowInsecure)
	if err != nil {
		return "", err
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ReadLimit == 0 {
		cfg.ReadLimit = DefaultReadLimit
	}
	if cfg.TokenMargin == 0 {
		cfg.TokenMargin = DefaultTokenMargin
	}
	return base, nil
}

func parseEndpoint(s string, insecure bool) (string, error) {
	if s == "" {
		return "", &ConfigError{"Endpoint", "required"}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", &ConfigError{"Endpoint", "not a URL"}
	}
	switch {
	case u.Scheme == "http" && !insecure:
		return "", &ConfigError{"Endpoint", "http:// sends the client secret and token in clear; use https:// or set AllowInsecure (simulators, tests)"}
	case u.Scheme != "http" && u.Scheme != "https":
		return "", &ConfigError{"Endpoint", "scheme must be https (or http with AllowInsecure)"}
	case u.Host == "":
		return "", &ConfigError{"Endpoint", "no host"}
	case u.User != nil:
		return "", &ConfigError{"Endpoint", "must not carry user information"}
	case u.RawQuery != "" || u.Fragment != "":
		return "", &ConfigError{"Endpoint", "must not carry a query or fragment"}
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/rest")
	return u.Scheme + "://" + u.Host + p, nil
}

// NewHTTPClient returns the client New uses when Config.HTTPClient is nil:
// keep-alive connections for maxConns concurrent calls plus one for
// identity, HTTP/2 when the server offers it, TLS 1.2 or later, bounded dial
// and handshake times, and no redirects (the Authorization header must not
// follow one). Per-call time limits come from the request context.
func NewHTTPClient(maxConns int) *http.Client {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          2 * (maxConns + 1),
		MaxIdleConnsPerHost:   maxConns + 1,
		MaxConnsPerHost:       2 * (maxConns + 1),
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// CloseIdleConnections closes the HTTP client's idle connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Subscription returns the Munchkin ID the client serves.
func (c *Client) Subscription() string { return c.cfg.Subscription }
