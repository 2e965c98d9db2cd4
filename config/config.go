package config

import (
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of repostd and repostctl: one YAML file
// (CONTRACT §8) overridden by environment variables. Build it with Load, or
// start from Default in tests; call Validate before use.
type Config struct {
	NATS          NATS           `yaml:"nats" json:"nats"`
	Redis         Redis          `yaml:"redis" json:"redis"`
	DataDir       string         `yaml:"dataDir" json:"dataDir"` // default ./data; REPOST_DATA_DIR
	HTTP          HTTP           `yaml:"http" json:"http"`
	Policy        Policy         `yaml:"policy" json:"policy"`
	Worker        Worker         `yaml:"worker" json:"worker"`
	Log           Log            `yaml:"log" json:"log"`
	Subscriptions []Subscription `yaml:"subscriptions" json:"subscriptions"`
}

// NATS is how to reach JetStream. An empty URL means an embedded server
// storing under DataDir (one process only).
type NATS struct {
	URL           URL    `yaml:"url" json:"url"` // nats://, tls://, ws://, wss://; comma-separated list allowed; REPOST_NATS_URL
	User          string `yaml:"user" json:"user"`
	Password      Secret `yaml:"password" json:"password"`
	CredsFile     string `yaml:"credsFile" json:"credsFile"` // a .creds file (JWT + nkey seed)
	TLS           TLS    `yaml:"tls" json:"tls"`
	SubjectPrefix string `yaml:"subjectPrefix" json:"subjectPrefix"` // default dap.postout
	Replicas      int    `yaml:"replicas" json:"replicas"`           // stream replicas, 1..5, default 1
	Storage       string `yaml:"storage" json:"storage"`             // file (default) or memory
	// AckWait is the ack wait of the consumers repost creates: how soon the
	// events of a replica that died are redelivered to another. Events a
	// live replica holds are kept alive meanwhile. Default 1m, at least 5s.
	AckWait time.Duration `yaml:"ackWait" json:"ackWait"`
}

// Redis holds the limits shared by every replica. An empty URL means
// in-process limits, valid for one replica only.
type Redis struct {
	URL URL `yaml:"url" json:"url"` // redis://, rediss://, unix://; may hold a password; REPOST_REDIS_URL
	// Mode is standalone (default), sentinel or cluster. In sentinel mode the
	// URL names the sentinels and the master
	// (redis://:pw@sentinel-1:26379?addr=sentinel-2:26379&master_name=mymaster);
	// in cluster mode it names the seed nodes (redis://:pw@node-1:6379?addr=node-2:6379).
	Mode     string `yaml:"mode" json:"mode"`
	Password Secret `yaml:"password" json:"password"`
	TLS      TLS    `yaml:"tls" json:"tls"`
}

// TLS names PEM files for a client connection. CertFile and KeyFile go
// together (mutual TLS); CAFile alone pins the server's authority.
type TLS struct {
	CAFile   string `yaml:"caFile" json:"caFile"`
	CertFile string `yaml:"certFile" json:"certFile"`
	KeyFile  string `yaml:"keyFile" json:"keyFile"`
}

// Enabled reports whether any TLS file is set.
func (t TLS) Enabled() bool { return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" }

// HTTP is the listener for /metrics, /healthz, /readyz and the console at /ui/.
type HTTP struct {
	Addr string `yaml:"addr" json:"addr"` // host:port, default 127.0.0.1:8080; REPOST_HTTP_ADDR
	UI   UI     `yaml:"ui" json:"ui"`
}

// UI is the read-only web console at /ui/ on the HTTP port.
type UI struct {
	// Enabled serves the console; false answers 404 at /ui/. Default true.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// ShowLeadData shows the field values of parked leads (PII). Default
	// false: the console shows lead IDs, codes and field names only.
	ShowLeadData bool `yaml:"showLeadData" json:"showLeadData"`
	// Refresh is how often an open page reloads itself, 1s..1m. Default 5s.
	Refresh time.Duration `yaml:"refresh" json:"refresh"`
}

// Policy tunes the decision table of package policy. Overrides maps a code as
// written in YAML ("1004", "timeout") to an action name ("skip"); use
// Config.PolicyOverrides for the typed form.
type Policy struct {
	MaxAttempts int               `yaml:"maxAttempts" json:"maxAttempts"` // default 10
	Overrides   map[string]string `yaml:"overrides" json:"overrides"`
}

// Worker tunes batching and shutdown.
type Worker struct {
	// Linger is how long a batch waits for more leads of the same
	// subscription before it is sent; 0 sends at once. Default 200ms.
	Linger time.Duration `yaml:"linger" json:"linger"`
	// BatchSize is the most leads per Marketo call, 1..300 (Marketo's cap).
	BatchSize int `yaml:"batchSize" json:"batchSize"`
	// FetchBatch is the most messages pulled from one consumer at once. Default 300.
	FetchBatch int `yaml:"fetchBatch" json:"fetchBatch"`
	// ShutdownTimeout bounds the drain after SIGTERM. Default 25s, under
	// Kubernetes' 30 s grace period.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout" json:"shutdownTimeout"`
	// LeaseTTL is the life of a concurrency slot or claim that is not renewed,
	// so that a killed pod cannot hold one for ever. Default 2m.
	LeaseTTL time.Duration `yaml:"leaseTTL" json:"leaseTTL"`
	// ExpireMargin is how long before an event would age out of
	// POSTOUT_FAILED (14 days) it is parked as expired, so that an event
	// held by a long halt, pause or block gets an outcome and can be
	// replayed. Default 24h; repostd refuses one not below the stream's max age.
	ExpireMargin time.Duration `yaml:"expireMargin" json:"expireMargin"`
}

// Log sets the log level. Debug also allows lead data beyond the lead ID
// in logs (never secrets).
type Log struct {
	Level string `yaml:"level" json:"level"` // debug, info (default), warn, error
	Debug bool   `yaml:"debug" json:"debug"`
}

// Subscription is one Marketo instance, named by its Munchkin ID.
type Subscription struct {
	ID string `yaml:"id" json:"id"` // Munchkin ID, e.g. 123-ABC-456 (see MunchkinID)
	// Endpoint is the REST base, https://123-ABC-456.mktorest.com, without
	// /rest; identity is <Endpoint>/identity. Load drops a trailing slash.
	Endpoint     string `yaml:"endpoint" json:"endpoint"`
	ClientID     string `yaml:"clientID" json:"clientID"`
	ClientSecret Secret `yaml:"clientSecret" json:"clientSecret"`
	// ClientSecretFile is read by Load into ClientSecret (a trailing newline
	// is dropped); set it or ClientSecret, not both.
	ClientSecretFile string `yaml:"clientSecretFile" json:"clientSecretFile"`
	// AllowInsecure allows an http:// endpoint (simulators, tests).
	AllowInsecure bool   `yaml:"allowInsecure" json:"allowInsecure"`
	Limits        Limits `yaml:"limits" json:"limits"`
}

// Limits is the worker's share of one subscription's Marketo limits
// (CONTRACT §7). Each field left out of the YAML takes its default.
type Limits struct {
	DailyQuota     int           `yaml:"dailyQuota" json:"dailyQuota"`         // calls per day ending 00:00 America/Chicago; default 10000
	CallsPerWindow int           `yaml:"callsPerWindow" json:"callsPerWindow"` // default 50
	Window         time.Duration `yaml:"window" json:"window"`                 // default 20s
	MaxConcurrency int           `yaml:"maxConcurrency" json:"maxConcurrency"` // default 5
}

// Redis modes.
const (
	RedisStandalone = "standalone"
	RedisSentinel   = "sentinel"
	RedisCluster    = "cluster"
)

// Defaults of CONTRACT §7 and §8.
const (
	DefaultSubjectPrefix   = "dap.postout"
	DefaultDataDir         = "./data"
	DefaultHTTPAddr        = "127.0.0.1:8080"
	DefaultMaxAttempts     = 10
	DefaultBatchSize       = 300
	MaxBatchSize           = 300 // Marketo's cap on input[] per call
	DefaultLinger          = 200 * time.Millisecond
	DefaultShutdownTimeout = 25 * time.Second
	DefaultLeaseTTL        = 2 * time.Minute
	DefaultExpireMargin    = 24 * time.Hour
	DefaultAckWait         = time.Minute
	DefaultUIRefresh       = 5 * time.Second
	// The limits' defaults are Marketo's advice for one integration (50
	// calls per 20 s, 5 concurrent) and the daily quota every instance is
	// guaranteed: repost shares the instance with the DAP pipeline.
	DefaultDailyQuota     = 10000
	DefaultCallsPerWindow = 50
	DefaultWindow         = 20 * time.Second
	DefaultMaxConcurrency = 5
)

// Default returns the configuration used when no file is given: embedded
// NATS, in-process limits, no subscriptions.
func Default() Config {
	return Config{
		NATS:    NATS{SubjectPrefix: DefaultSubjectPrefix, Replicas: 1, Storage: "file", AckWait: DefaultAckWait},
		DataDir: DefaultDataDir,
		HTTP:    HTTP{Addr: DefaultHTTPAddr, UI: UI{Enabled: true, Refresh: DefaultUIRefresh}},
		Policy:  Policy{MaxAttempts: DefaultMaxAttempts},
		Worker: Worker{
			Linger: DefaultLinger, BatchSize: DefaultBatchSize, FetchBatch: DefaultBatchSize,
			ShutdownTimeout: DefaultShutdownTimeout, LeaseTTL: DefaultLeaseTTL,
			ExpireMargin: DefaultExpireMargin,
		},
		Log: Log{Level: "info"},
	}
}

// DefaultLimits returns the limits of a subscription that sets none.
func DefaultLimits() Limits {
	return Limits{
		DailyQuota: DefaultDailyQuota, CallsPerWindow: DefaultCallsPerWindow,
		Window: DefaultWindow, MaxConcurrency: DefaultMaxConcurrency,
	}
}

// UnmarshalYAML starts a subscription from DefaultLimits, so that each limit
// left out of the file keeps its default while one written as 0 stays 0 and
// fails Validate (a bad value is never silently replaced).
func (s *Subscription) UnmarshalYAML(n *yaml.Node) error {
	type plain Subscription
	p := plain{Limits: DefaultLimits()}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = Subscription(p)
	return nil
}

// Subscription returns the configured subscription with this Munchkin ID.
// The pointer is into c.Subscriptions.
func (c *Config) Subscription(id string) (*Subscription, bool) {
	for i := range c.Subscriptions {
		if c.Subscriptions[i].ID == id {
			return &c.Subscriptions[i], true
		}
	}
	return nil, false
}

// Redacted renders the configuration as YAML for logs: secrets show as
// [redacted] and URLs lose their passwords. It is not a round-trip format.
func (c *Config) Redacted() string {
	b, err := yaml.Marshal(c)
	if err != nil { // only a type yaml cannot encode; none is in Config
		return "config: cannot render: " + err.Error()
	}
	return string(b)
}
