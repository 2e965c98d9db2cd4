package security

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/internal/randid"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
)

// secret returns a distinctive random credential: long enough that its
// presence anywhere can only be a leak.
func secret(tb testing.TB, prefix string) string {
	tb.Helper()
	return prefix + randid.Hex(12)
}

func mustPKI(tb testing.TB) *PKI {
	tb.Helper()
	p, err := NewPKI(tb.TempDir())
	if err != nil {
		tb.Fatalf("certificates: %v", err)
	}
	return p
}

// mustSecureNATS starts an embedded JetStream server that only speaks TLS
// (server certificate of pki) and only admits user/password. It returns the
// tls:// URL.
func mustSecureNATS(tb testing.TB, pki *PKI, user, password string) string {
	tb.Helper()
	tc, err := pki.ServerTLS(false)
	if err != nil {
		tb.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "security-test", Host: "127.0.0.1", Port: -1,
		JetStream: true, StoreDir: tb.TempDir(), NoSigs: true, NoLog: true,
		Username: user, Password: password,
		TLS: true, TLSConfig: tc, TLSTimeout: 5,
	})
	if err != nil {
		tb.Fatalf("nats-server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		tb.Fatal("nats-server not ready")
	}
	tb.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return fmt.Sprintf("tls://127.0.0.1:%d", ns.Addr().(*net.TCPAddr).Port)
}

// mustSecureRedis starts a throwaway redis-server that listens only on a TLS
// port, requires client certificates of pki and AUTH with password.
// It skips when redis-server is missing, unless REPOST_REQUIRE_REDIS=1.
func mustSecureRedis(tb testing.TB, pki *PKI, password string) string {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("REPOST_REQUIRE_REDIS") == "1" {
			tb.Fatalf("redis-server required (REPOST_REQUIRE_REDIS=1): %v", err)
		}
		tb.Skipf("redis-server not installed: %v", err)
	}
	var lastErr error
	for range 3 { // another process may take the free port first
		addr := testenv.FreeAddr(tb)
		if lastErr = startSecureRedis(tb, pki, password, addr); lastErr == nil {
			return addr
		}
	}
	tb.Fatalf("redis-server with TLS: %v", lastErr)
	return ""
}

func startSecureRedis(tb testing.TB, pki *PKI, password, addr string) error {
	_, port, _ := net.SplitHostPort(addr)
	dir := tb.TempDir()
	// The password goes through a config file, not the command line, so
	// that it does not show in the process list.
	conf := filepath.Join(dir, "redis.conf")
	body := fmt.Sprintf("port 0\ntls-port %s\nbind 127.0.0.1\ntls-cert-file %s\ntls-key-file %s\n"+
		"tls-ca-cert-file %s\ntls-auth-clients yes\nrequirepass %s\nsave \"\"\nappendonly no\ndir %s\nloglevel warning\n",
		port, pki.ServerCert, pki.ServerKey, pki.CAFile, password, dir)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return err
	}
	cmd := exec.Command("redis-server", conf)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() { _ = cmd.Process.Kill(); <-done }
	tc, err := pki.ClientTLS()
	if err != nil {
		stop()
		return err
	}
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password, TLSConfig: tc, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited: %s", out.String())
		default:
		}
		if c.Ping(context.Background()).Err() == nil {
			tb.Cleanup(stop)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return fmt.Errorf("redis-server on %s not ready: %s", addr, out.String())
}

// tokenRecorder serves the simulator and keeps every access token its
// identity endpoint hands out, so that the test knows every token to look for.
type tokenRecorder struct {
	sim *marketotest.Sim
	mu  sync.Mutex
	tok map[string]bool
}

func (r *tokenRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != marketotest.IdentityPath {
		r.sim.ServeHTTP(w, req)
		return
	}
	rec := httptest.NewRecorder()
	r.sim.ServeHTTP(rec, req)
	var ans struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &ans) == nil && ans.AccessToken != "" {
		r.mu.Lock()
		r.tok[ans.AccessToken] = true
		r.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (r *tokenRecorder) tokens() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.tok))
	for t := range r.tok {
		out = append(out, t)
	}
	return out
}

// mustRecordedSim starts the Marketo simulator behind a token recorder on a
// loopback port.
func mustRecordedSim(tb testing.TB, opts marketotest.Options) (*marketotest.Sim, *tokenRecorder, string) {
	tb.Helper()
	sim := marketotest.New(opts)
	rec := &tokenRecorder{sim: sim, tok: map[string]bool{}}
	srv := httptest.NewServer(rec)
	tb.Cleanup(func() { sim.Resume(); srv.CloseClientConnections(); srv.Close() })
	return sim, rec, srv.URL
}
