package security

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadops/repost/internal/testenv"
)

// binDir holds the repostd binary; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildRepostd compiles ./cmd/repostd once for the test binary: the test
// runs repostd's own wiring, not a copy of it.
var buildRepostd = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "repost-security-*")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "repostd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/leadops/repost/cmd/repostd")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/repostd: %v\n%s", err, out.String())
	}
	return bin, nil
})

func mustRepostd(tb testing.TB) string {
	tb.Helper()
	bin, err := buildRepostd()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// daemon is a running repostd.
type daemon struct {
	cmd    *exec.Cmd
	stdout testenv.Buffer
	stderr testenv.Buffer
	done   chan struct{}
	err    error
}

// startRepostd runs bin --config cfg with env added to the test's
// environment; the process is killed at cleanup if still running.
func startRepostd(tb testing.TB, bin, cfg string, env ...string) *daemon {
	tb.Helper()
	d := &daemon{done: make(chan struct{})}
	d.cmd = exec.Command(bin, "--config", cfg)
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stdout, d.cmd.Stderr = &d.stdout, &d.stderr
	if err := d.cmd.Start(); err != nil {
		tb.Fatalf("start repostd: %v", err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	tb.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

// wait returns the exit code once the process ends, or fails after timeout.
func (d *daemon) wait(tb testing.TB, timeout time.Duration) int {
	tb.Helper()
	select {
	case <-d.done:
	case <-time.After(timeout):
		_ = d.cmd.Process.Kill()
		<-d.done
		tb.Fatalf("repostd still running after %s; stderr:\n%s", timeout, d.stderr.String())
	}
	var ee *exec.ExitError
	switch {
	case d.err == nil:
		return 0
	case errors.As(d.err, &ee):
		return ee.ExitCode()
	}
	tb.Fatalf("repostd: %v", d.err)
	return -1
}

// stop sends SIGTERM and returns the exit code.
func (d *daemon) stop(tb testing.TB, timeout time.Duration) int {
	tb.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	return d.wait(tb, timeout)
}

// get returns the status and body of an HTTP GET.
func get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}
