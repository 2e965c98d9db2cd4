package deployments

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/leadops/repost/config"
)

// The ConfigMap's config.yaml is loaded with the worker's own config.Load,
// in the environment its container gets (env, and envFrom Secrets holding
// their placeholder values): what the test checks is what repostd would run
// with, defaults included (worker.shutdownTimeout, limits.maxConcurrency).

// mustConfigMap returns the one ConfigMap of a rendered kustomization.
func mustConfigMap(tb testing.TB, r *rendered) *corev1.ConfigMap {
	tb.Helper()
	if len(r.configMaps) != 1 {
		tb.Fatalf("%s: %d ConfigMaps, want 1", r.dir, len(r.configMaps))
	}
	cm := r.configMaps[0]
	if _, ok := cm.Data["config.yaml"]; !ok {
		tb.Fatalf("%s: ConfigMap %s has no config.yaml", r.dir, cm.Name)
	}
	return cm
}

// containerEnv is the environment c starts with: its env values and every
// key of the Secrets it loads with envFrom.
func containerEnv(r *rendered, c *corev1.Container) map[string]string {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			continue
		}
		if s := r.secret(from.SecretRef.Name); s != nil {
			for k, v := range s.StringData {
				env[from.Prefix+k] = v
			}
			for k, v := range s.Data {
				env[from.Prefix+k] = string(v)
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// loadConfig runs config.Load on the ConfigMap's config.yaml with env.
func loadConfig(tb testing.TB, cm *corev1.ConfigMap, env map[string]string) (*config.Config, error) {
	tb.Helper()
	file := filepath.Join(tb.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(cm.Data["config.yaml"]), 0o600); err != nil {
		tb.Fatal(err)
	}
	return config.Load(file, func(k string) string { return env[k] })
}

// mustWorkerConfig loads the ConfigMap in the environment of the first
// repostd container of r.
func mustWorkerConfig(tb testing.TB, r *rendered) (*corev1.ConfigMap, *config.Config) {
	tb.Helper()
	cm := mustConfigMap(tb, r)
	for _, d := range r.deployments {
		for i := range d.Spec.Template.Spec.Containers {
			c := &d.Spec.Template.Spec.Containers[i]
			if imageRepo(c.Image) == repostImage {
				cfg, err := loadConfig(tb, cm, containerEnv(r, c))
				if err != nil {
					tb.Fatalf("%s: %s/%s: %v", r.dir, d.Name, c.Name, err)
				}
				return cm, cfg
			}
		}
	}
	tb.Fatalf("%s: no container runs %s", r.dir, repostImage)
	return nil, nil
}

// concurrencyBudget is the most Marketo calls the whole fleet may have in
// flight: the sum of every subscription's maxConcurrency.
func concurrencyBudget(cfg *config.Config) int {
	total := 0
	for _, s := range cfg.Subscriptions {
		total += s.Limits.MaxConcurrency
	}
	return total
}

func subscriptionIDs(cfg *config.Config) []string {
	ids := make([]string, 0, len(cfg.Subscriptions))
	for _, s := range cfg.Subscriptions {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

// rawSubscriptions is config.yaml as written, before expansion: the only
// place a secret written in clear can be seen.
type rawSubscriptions struct {
	Subscriptions []struct {
		ID               string `yaml:"id"`
		ClientSecret     string `yaml:"clientSecret"`
		ClientSecretFile string `yaml:"clientSecretFile"`
	} `yaml:"subscriptions"`
}

// envRef is a whole-value ${VAR} reference.
var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// secretVars returns the environment variables the client secrets of a
// config file come from; a clientSecret written in clear is an error.
func secretVars(configYAML string) ([]string, error) {
	var raw rawSubscriptions
	if err := yaml.Unmarshal([]byte(configYAML), &raw); err != nil {
		return nil, err
	}
	var vars []string
	for _, s := range raw.Subscriptions {
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

// TestConfigMapConfig: the config is a production one: external NATS with
// three stream replicas on file storage, shared limits in Redis, and no
// secret in the ConfigMap.
func TestConfigMapConfig(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			r := mustRender(t, dir)
			cm, cfg := mustWorkerConfig(t, r)
			if cfg.NATS.URL.Reveal() == "" || cfg.Redis.URL.Reveal() == "" {
				// Without them repostd embeds NATS under dataDir and keeps limits
				// in process: one replica only, and a writable volume.
				t.Errorf("nats.url and redis.url must both be set")
			}
			if cfg.NATS.Replicas != 3 || cfg.NATS.Storage != "file" {
				t.Errorf("nats replicas %d storage %q: want JetStream R3 on file storage", cfg.NATS.Replicas, cfg.NATS.Storage)
			}
			if len(cfg.Subscriptions) == 0 {
				t.Error("no subscriptions")
			}
			if _, err := secretVars(cm.Data["config.yaml"]); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSecretVars(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []string
		wantErr bool
	}{
		{name: "reference", yaml: `subscriptions: [{id: a, clientSecret: "${MARKETO_1_SECRET}"}]`, want: []string{"MARKETO_1_SECRET"}},
		{name: "file", yaml: `subscriptions: [{id: a, clientSecretFile: /run/secrets/marketo}]`},
		{name: "clear text", yaml: `subscriptions: [{id: a, clientSecret: s3cr3t}]`, wantErr: true},
		{name: "embedded reference", yaml: `subscriptions: [{id: a, clientSecret: "x${MARKETO_1_SECRET}"}]`, wantErr: true},
		{name: "missing", yaml: `subscriptions: [{id: a}]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secretVars(tt.yaml)
			if (err != nil) != tt.wantErr {
				t.Fatalf("secretVars() error = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("secretVars() = %v, want %v", got, tt.want)
			}
		})
	}
}
