package deployments

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
)

// defaultShutdownTimeout is the worker's drain deadline when
// worker.shutdownTimeout is not set (docs/DESIGN.md, "Runtime facts").
const defaultShutdownTimeout = 25 * time.Second

// defaultMaxConcurrency is limits.maxConcurrency's default (CONTRACT §7).
const defaultMaxConcurrency = 10

// workerConfig mirrors the config file of CONTRACT §8 plus worker.shutdownTimeout
// (DESIGN.md): decoded with unknown fields refused, so a typo in the
// ConfigMap fails here rather than at the worker's start.
type workerConfig struct {
	NATS    struct{ URL string }  `yaml:"nats"`
	Redis   struct{ URL string }  `yaml:"redis"`
	DataDir string                `yaml:"dataDir"`
	HTTP    struct{ Addr string } `yaml:"http"`
	Worker  struct {
		ShutdownTimeout string `yaml:"shutdownTimeout"`
	} `yaml:"worker"`
	Policy struct {
		MaxAttempts int               `yaml:"maxAttempts"`
		Overrides   map[string]string `yaml:"overrides"`
	} `yaml:"policy"`
	Subscriptions []subscriptionConfig `yaml:"subscriptions"`
}

type subscriptionConfig struct {
	ID               string `yaml:"id"`
	Endpoint         string `yaml:"endpoint"`
	ClientID         string `yaml:"clientID"`
	ClientSecret     string `yaml:"clientSecret"`
	ClientSecretFile string `yaml:"clientSecretFile"`
	AllowInsecure    bool   `yaml:"allowInsecure"`
	Limits           struct {
		DailyQuota     int    `yaml:"dailyQuota"`
		CallsPerWindow int    `yaml:"callsPerWindow"`
		Window         string `yaml:"window"`
		MaxConcurrency *int   `yaml:"maxConcurrency"`
	} `yaml:"limits"`
}

// shutdownTimeout is the configured drain deadline, or the default.
func (c *workerConfig) shutdownTimeout() (time.Duration, error) {
	if c.Worker.ShutdownTimeout == "" {
		return defaultShutdownTimeout, nil
	}
	return time.ParseDuration(c.Worker.ShutdownTimeout)
}

// concurrencyBudget is the most Marketo calls the whole fleet may have in
// flight: the sum of every subscription's maxConcurrency.
func (c *workerConfig) concurrencyBudget() int {
	total := 0
	for _, s := range c.Subscriptions {
		if s.Limits.MaxConcurrency != nil {
			total += *s.Limits.MaxConcurrency
		} else {
			total += defaultMaxConcurrency
		}
	}
	return total
}

func (c *workerConfig) subscriptionIDs() []string {
	ids := make([]string, 0, len(c.Subscriptions))
	for _, s := range c.Subscriptions {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

// envRef is a whole-value ${VAR} reference, the only form a secret may take
// in the ConfigMap.
var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// secretVars returns the environment variables the subscriptions' client
// secrets come from; a clientSecret written in clear is an error.
func (c *workerConfig) secretVars() ([]string, error) {
	var vars []string
	for _, s := range c.Subscriptions {
		switch m := envRef.FindStringSubmatch(s.ClientSecret); {
		case m != nil:
			vars = append(vars, m[1])
		case s.ClientSecret == "" && s.ClientSecretFile != "":
		default:
			return nil, fmt.Errorf("subscription %s: clientSecret must be a ${VAR} reference or clientSecretFile, never a value", s.ID)
		}
	}
	return vars, nil
}

func parseWorkerConfig(data string) (*workerConfig, error) {
	dec := yaml.NewDecoder(bytes.NewReader([]byte(data)))
	dec.KnownFields(true)
	var c workerConfig
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// mustWorkerConfig decodes the config.yaml of the one ConfigMap a rendered
// kustomization holds.
func mustWorkerConfig(tb testing.TB, r *rendered) (*corev1.ConfigMap, *workerConfig) {
	tb.Helper()
	if len(r.configMaps) != 1 {
		tb.Fatalf("%s: %d ConfigMaps, want 1", r.dir, len(r.configMaps))
	}
	cm := r.configMaps[0]
	data, ok := cm.Data["config.yaml"]
	if !ok {
		tb.Fatalf("%s: ConfigMap %s has no config.yaml", r.dir, cm.Name)
	}
	c, err := parseWorkerConfig(data)
	if err != nil {
		tb.Fatalf("%s: ConfigMap %s config.yaml: %v", r.dir, cm.Name, err)
	}
	return cm, c
}

func TestConfigMapConfig(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			r := mustRender(t, dir)
			_, c := mustWorkerConfig(t, r)
			if c.NATS.URL == "" || c.Redis.URL == "" {
				// Without them repostd embeds NATS under dataDir and keeps limits
				// in process: one replica only, and a writable volume.
				t.Errorf("nats.url %q and redis.url %q must both be set", c.NATS.URL, c.Redis.URL)
			}
			if len(c.Subscriptions) == 0 {
				t.Fatal("no subscriptions")
			}
			if d, err := c.shutdownTimeout(); err != nil || d <= 0 {
				t.Errorf("worker.shutdownTimeout %q: %v", c.Worker.ShutdownTimeout, err)
			}
			if _, err := c.secretVars(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSecretVars(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		file    string
		want    []string
		wantErr bool
	}{
		{name: "reference", secret: "${MARKETO_1_SECRET}", want: []string{"MARKETO_1_SECRET"}},
		{name: "file", file: "/run/secrets/marketo", want: nil},
		{name: "clear text", secret: "s3cr3t", wantErr: true},
		{name: "embedded reference", secret: "x${MARKETO_1_SECRET}", wantErr: true},
		{name: "missing", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &workerConfig{Subscriptions: []subscriptionConfig{{ID: "1", ClientSecret: tt.secret, ClientSecretFile: tt.file}}}
			got, err := c.secretVars()
			if (err != nil) != tt.wantErr {
				t.Fatalf("secretVars() error = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("secretVars() = %v, want %v", got, tt.want)
			}
		})
	}
}
