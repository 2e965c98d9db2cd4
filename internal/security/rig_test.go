package security

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
)

// rig is the secured world repostd runs in: NATS with TLS and a password,
// Redis with mutual TLS and AUTH, the Marketo simulator, each credential a
// distinctive random value.
type rig struct {
	pki          *PKI
	natsURL      string
	natsPassword string
	redisAddr    string
	redisPW      string
	sim          *marketotest.Sim
	tokens       *tokenRecorder
	simURL       string
	mktoSecret   string
}

const natsUser = "repost"

func newRig(t *testing.T, faults marketotest.Faults) *rig {
	t.Helper()
	r := &rig{
		pki: mustPKI(t), natsPassword: secret(t, "nats-PW-"), redisPW: secret(t, "redis-PW-"),
		mktoSecret: secret(t, "mkto-SECRET-"),
	}
	r.natsURL = mustSecureNATS(t, r.pki, natsUser, r.natsPassword)
	r.redisAddr = mustSecureRedis(t, r.pki, r.redisPW)
	r.sim, r.tokens, r.simURL = mustRecordedSim(t, marketotest.Options{ClientSecret: r.mktoSecret, Faults: faults})
	return r
}

// env is what repostd's configuration expands: every secret comes from the
// environment, none is written in the file.
func (r *rig) env(natsPassword string) []string {
	return []string{
		"NATS_PASSWORD=" + natsPassword, "REDIS_PASSWORD=" + r.redisPW,
		"MARKETO_123_ABC_456_SECRET=" + r.mktoSecret,
	}
}

// secrets names every credential of the run, the tokens issued so far included.
func (r *rig) secrets() map[string]string {
	s := map[string]string{
		"NATS password": r.natsPassword, "Redis password": r.redisPW, "Marketo client secret": r.mktoSecret,
	}
	for i, tok := range r.tokens.tokens() {
		s[fmt.Sprintf("access token %d", i+1)] = tok
	}
	return s
}

// configOpts vary the configuration file between runs.
type configOpts struct {
	natsURL       string // with credentials in it: no nats.user/password keys
	redisURL      string // default rediss://127.0.0.1:port/0
	redisPassword bool   // write redis.password: "${REDIS_PASSWORD}"
	endpoint      string // default the simulator's URL
	allowInsecure bool
	httpAddr      string
}

// config writes repostd's configuration file and returns its path.
func (r *rig) config(t *testing.T, o configOpts) string {
	t.Helper()
	if o.redisURL == "" {
		o.redisURL = "rediss://" + r.redisAddr + "/0"
	}
	if o.endpoint == "" {
		o.endpoint = r.simURL
	}
	if o.httpAddr == "" {
		o.httpAddr = testenv.FreeAddr(t)
	}
	natsAuth := fmt.Sprintf("\n  url: %q\n  user: %s\n  password: \"${NATS_PASSWORD}\"", r.natsURL, natsUser)
	if o.natsURL != "" {
		natsAuth = fmt.Sprintf("\n  url: %q", o.natsURL)
	}
	redisPW := ""
	if o.redisPassword {
		redisPW = "\n  password: \"${REDIS_PASSWORD}\""
	}
	cfg := fmt.Sprintf(`nats:%s
  tls: {caFile: %q}
redis:
  url: %q%s
  tls: {caFile: %q, certFile: %q, keyFile: %q}
dataDir: %q
http: {addr: %q}
policy: {maxAttempts: 3}
worker: {linger: 50ms, batchSize: 20, shutdownTimeout: 5s}
log: {level: debug, debug: true}
subscriptions:
  - id: %s
    endpoint: %s
    clientID: %s
    clientSecret: "${MARKETO_123_ABC_456_SECRET}"
    allowInsecure: %t
`, natsAuth, r.pki.CAFile, o.redisURL, redisPW, r.pki.CAFile, r.pki.ClientCert, r.pki.ClientKey,
		t.TempDir(), o.httpAddr, fixture.Sub, o.endpoint, marketotest.DefaultClientID, o.allowInsecure)
	path := filepath.Join(t.TempDir(), "repost.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// queue connects the test itself the way repostd does: TLS and a password.
func (r *rig) queue(t *testing.T) *queue.Queue {
	t.Helper()
	return testenv.Queue(t, r.natsURL, queue.Options{
		User: natsUser, Password: r.natsPassword, CAFile: r.pki.CAFile, Name: "security-test",
	})
}

func publish(t *testing.T, q *queue.Queue, evs []fixture.Event) {
	t.Helper()
	b := q.NewBatch()
	for _, e := range evs {
		b.Failed(e.Sub, e.ID, e.Data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Wait(ctx); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// stored is a message read back with the fields the test looks at.
type stored struct {
	raw      string
	EventID  string `json:"eventId"`
	Outcome  string `json:"outcome"`
	Attempts int    `json:"attempts"`
}

func scan(t *testing.T, q *queue.Queue, outcomes bool) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []stored
	fn := func(m queue.StoredMsg) (bool, error) {
		s := stored{raw: string(m.Data)}
		_ = json.Unmarshal(m.Data, &s) // a parked raw body has no eventId field: kept as raw text
		out = append(out, s)
		return true, nil
	}
	var err error
	if outcomes {
		err = q.ScanOutcomes(ctx, "", fn)
	} else {
		err = q.ScanParked(ctx, "", fn)
	}
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// waitOutcomes waits until every event has an outcome.
func waitOutcomes(t *testing.T, q *queue.Queue, evs []fixture.Event, d *daemon) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		seen := map[string]bool{}
		for _, o := range scan(t, q, true) {
			seen[o.EventID] = true
		}
		missing := 0
		for _, e := range evs {
			if !seen[e.ID] {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events without an outcome; repostd log tail:\n%s", missing, len(evs), tail(d.stderr.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond) // polling interval of a condition, not a fixed wait
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// findSecrets returns the names of the secrets text holds.
func findSecrets(text string, secrets map[string]string) []string {
	var found []string
	for name, v := range secrets {
		if v != "" && strings.Contains(text, v) {
			found = append(found, name)
		}
	}
	return found
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func itoa(i int) string { return fmt.Sprint(i) }
