// Command consoleshot writes docs/console.png: it runs `repostd demo`,
// reads the console's URL from the demo's output, waits until the worker
// is half-way through the mix, and takes a screenshot of the overview in
// headless chromium. `make screenshot` runs it; the picture is generated,
// never drawn by hand.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leadops/repost/internal/browser"
)

func main() {
	repostd := flag.String("repostd", "bin/repostd", "the repostd binary")
	out := flag.String("o", "docs/console.png", "the PNG to write")
	events := flag.Int("events", 3000, "events of the demo mix")
	at := flag.Float64("at", 0.5, "take the picture once this share of the events has its outcome")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *repostd, *out, *events, *at); err != nil {
		fmt.Fprintln(os.Stderr, "consoleshot:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, repostd, out string, events int, at float64) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "consoleshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	demo := exec.CommandContext(ctx, repostd, "demo", "--events", strconv.Itoa(events), "--data-dir", dir)
	demo.Cancel = func() error { return demo.Process.Signal(os.Interrupt) } // the demo drains and prints its summary
	demo.WaitDelay = 20 * time.Second
	demo.Stderr = os.Stderr
	stdout, err := demo.StdoutPipe()
	if err != nil {
		return err
	}
	if err := demo.Start(); err != nil {
		return err
	}
	defer func() { cancel(); _ = demo.Wait() }()
	url, err := waitFor(stdout, events, at)
	if err != nil {
		return err
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	bctx, bcancel, err := browser.Start(ctx, browser.Options{UserDataDir: dir + "/chromium", Width: 1440, Height: 480})
	if err != nil {
		return err
	}
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`tr.sub`))); err != nil {
		return err
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s (%d bytes) from %s\n", out, len(png), url)
	return nil
}

var (
	consoleLine  = regexp.MustCompile(`^console: (http://\S+/ui/) `)
	progressLine = regexp.MustCompile(`^\[\s*[\d.]+s\]\s+(\d+)/(\d+) done`)
)

// waitFor reads the demo's output until it has printed the console's URL
// and a progress line with at least the share at of the events done.
func waitFor(r io.Reader, events int, at float64) (string, error) {
	sc := bufio.NewScanner(r)
	url := ""
	for sc.Scan() {
		line := sc.Text()
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			url = m[1]
		}
		if m := progressLine.FindStringSubmatch(line); m != nil && url != "" {
			if done, _ := strconv.Atoi(m[1]); float64(done) >= at*float64(events) {
				return url, nil
			}
		}
	}
	if url == "" {
		return "", errors.New("the demo printed no console URL")
	}
	return "", fmt.Errorf("the demo ended before %.0f%% of its events were done: %v", at*100, sc.Err())
}
