// Package browser starts Debian's chromium headless under chromedp, for the
// console's browser test and for the screenshot in docs/. It lives apart so
// that repostd itself never links chromedp.
package browser

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// RequireEnv set to 1 (CI) turns a missing chromium into a failure of
// ForTest instead of a skip.
const RequireEnv = "REPOST_REQUIRE_CHROMIUM"

// ErrNotFound says no chromium was found.
var ErrNotFound = errors.New("browser: no chromium found ($REPOST_CHROMIUM, chromium, chromium-browser on PATH, /usr/bin/chromium)")

// Path finds the browser: $REPOST_CHROMIUM, then chromium or
// chromium-browser on PATH, then /usr/bin/chromium.
func Path() (string, error) {
	if p := os.Getenv("REPOST_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Options of Start.
type Options struct {
	Exec          string // the browser; empty: Path()
	UserDataDir   string // required: a fresh directory, removed by the caller
	Width, Height int    // the window; zero: 1280×800
	Output        io.Writer
}

// Start runs one headless chromium and returns a context for its first
// tab; cancel ends the browser. The flags keep it quiet on a closed
// network: without background networking, component updates and sync it
// would keep trying to reach Google and misbehave. --no-sandbox because CI
// runs it as root.
func Start(parent context.Context, o Options) (context.Context, context.CancelFunc, error) {
	if o.Exec == "" {
		p, err := Path()
		if err != nil {
			return nil, nil, err
		}
		o.Exec = p
	}
	if o.UserDataDir == "" {
		return nil, nil, errors.New("browser: a user data directory is required")
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1280, 800
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(o.Exec),
		chromedp.UserDataDir(o.UserDataDir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(o.Width, o.Height),
	)
	if o.Output != nil {
		opts = append(opts, chromedp.CombinedOutput(o.Output))
	}
	actx, acancel := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser now
		cancel()
		acancel()
		return nil, nil, err
	}
	return ctx, func() { cancel(); acancel() }, nil
}

// ForTest starts a browser for tb, ended at cleanup. Without chromium the
// test is skipped, unless REPOST_REQUIRE_CHROMIUM=1, where it fails.
func ForTest(tb testing.TB, width, height int) context.Context {
	tb.Helper()
	exe, err := Path()
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("chromium required (%s=1): %v", RequireEnv, err)
		}
		tb.Skipf("%v; install chromium to run the browser test", err)
	}
	ctx, cancel, err := Start(context.Background(), Options{Exec: exe, UserDataDir: tb.TempDir(), Width: width, Height: height})
	if err != nil {
		tb.Fatalf("start %s: %v", exe, err)
	}
	tb.Cleanup(cancel)
	return ctx
}
