package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
)

// The pty's size: wide enough that no table line wraps, so that row
// numbers on the screen are line numbers of a frame.
const ptyRows, ptyCols = 40, 300

// buildRepostctl compiles the real repostctl into a temp dir, with -race
// as `make test` builds the packages, so that the build reuses their cache.
func buildRepostctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "repostctl")
	cmd := exec.Command("go", "build", "-race", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// watchProc is `repostctl status --watch` running as a process.
type watchProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *testenv.Buffer
	exited chan error
}

// startWatch starts bin on h's configuration, with a home of its own so
// that no contexts file of the machine applies; attach connects its
// standard streams (a pty, or pipes) and starts it.
func startWatch(t *testing.T, bin string, h *harness, out *testenv.Buffer, attach func(*exec.Cmd) error) *watchProc {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, "--config", h.cfgPath, "status", "--watch")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home,
		"USER=oncall", "TERM=xterm", "GORACE=atexit_sleep_ms=0"} // a -race binary sleeps 1 s at exit by default
	if err := attach(cmd); err != nil {
		t.Fatalf("start repostctl: %v", err)
	}
	p := &watchProc{t: t, cmd: cmd, out: out, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // a failed test leaves no process behind
	return p
}

// waitFrames waits until n frames have been written in full (done says
// when the output ends a frame) and returns the output so far. It fails
// at once if the process ends first.
func (p *watchProc) waitFrames(n int, done func(string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		out := p.out.String()
		if strings.Count(out, "SUBSCRIPTION") >= n && done(out) {
			return out
		}
		select {
		case err := <-p.exited:
			p.t.Fatalf("repostctl ended (%v) before %d frames:\n%q", err, n, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d frames not drawn in 8 s (watch redraws every %s):\n%q", n, watchEvery, out)
		}
	}
}

// waitExit waits for the process to end after an interrupt and returns
// how long it took; it must end with status 0, within 3 s.
func (p *watchProc) waitExit(sent time.Time) time.Duration {
	p.t.Helper()
	select {
	case err := <-p.exited:
		took := time.Since(sent)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.t.Errorf("interrupted watch ended with %v, want exit status 0 (a clean end)", ee)
		} else if err != nil {
			p.t.Errorf("wait: %v", err)
		}
		return took
	case <-time.After(3 * time.Second):
		p.t.Fatalf("repostctl still running 3 s after the interrupt:\n%q", p.out.String())
		return 0
	}
}

// checkNoCrash fails if the output shows a panic, a Go stack, an error
// line or a secret.
func checkNoCrash(t *testing.T, out string) {
	t.Helper()
	for _, bad := range []string{"panic:", "goroutine ", "repostctl:", "DATA RACE", testSecret} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q:\n%s", bad, out)
		}
	}
}

// The real binary against a real embedded server and a running worker:
// under a pty, `status --watch` redraws its table in place (the screen,
// as a terminal shows it, is the last frame alone, nothing scrolled) and
// ends on Ctrl-C with status 0, the cursor visible and below the table,
// no panic. On a terminal too small for the table (80x24, 12
// subscriptions, lines wrapping), a frame still fits: the lines that do
// not are cut, and said to be. Piped, it writes plain snapshots one after
// the other and ends on SIGINT with status 0.
func TestStatusWatchPTY(t *testing.T) {
	bin := buildRepostctl(t)
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	subs := []string{fixture.Sub}
	for i := 1; i <= 11; i++ {
		subs = append(subs, fmt.Sprintf("5%02d-IDL-5%02d", i, i)) // configured, never run
	}
	h := newHarness(t, sim.URL, subs...)
	h.startWorkerOpts(sim, "w-pty", "9.9.9-pty", fixture.Sub)
	h.publish([]fixture.Event{fixture.Build(0, fixture.KindOK, time.Now(), fixture.Sub),
		fixture.Build(1, fixture.KindOK, time.Now(), fixture.Sub)})
	checkFor(t, 30*time.Second, func() error {
		if n := len(h.outcomes("reposted")); n != 2 {
			return fmt.Errorf("%d of 2 reposted", n)
		}
		return nil
	})

	t.Run("pty", func(t *testing.T) {
		t.Parallel()
		got := watchOnPTY(t, bin, h, ptyRows, ptyCols)
		headers := 0
		for _, l := range got {
			if strings.HasPrefix(l, "SUBSCRIPTION ") {
				headers++
			}
		}
		if headers != 1 || len(got) < 5+11 || !strings.Contains(got[0], "NATS nats://127.0.0.1:") ||
			!strings.HasPrefix(got[1], "replicas (1): w-pty 9.9.9-pty on ") ||
			!strings.HasPrefix(got[4], fixture.Sub+" ") || !strings.Contains(got[4], " 2/0/0 ") ||
			!strings.HasPrefix(got[15], "511-IDL-511 ") || strings.Contains(strings.Join(got, "\n"), "more line") {
			t.Errorf("the screen is not the whole status table (header, replica w-pty, %s with 2 reposted, 11 idle):\n%s",
				fixture.Sub, strings.Join(got, "\n"))
		}
	})

	t.Run("small pty", func(t *testing.T) {
		t.Parallel()
		got := watchOnPTY(t, bin, h, 24, 80)
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\d `).MatchString(got[0]) || !strings.Contains(strings.Join(got, "\n"), "more line") {
			t.Errorf("on 80x24, want the header on top and the cut said:\n%s", strings.Join(got, "\n"))
		}
	})

	t.Run("piped", func(t *testing.T) {
		t.Parallel()
		out, errb := &testenv.Buffer{}, &testenv.Buffer{}
		p := startWatch(t, bin, h, out, func(cmd *exec.Cmd) error {
			cmd.Stdout, cmd.Stderr = out, errb
			return cmd.Start()
		})
		raw := p.waitFrames(2, func(s string) bool {
			last := s[strings.LastIndex(s, "SUBSCRIPTION"):]
			return strings.Contains(last, "\n"+fixture.Sub+" ") && strings.HasSuffix(last, "\n")
		})
		sent := time.Now()
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		took := p.waitExit(sent)
		t.Logf("exited %s after SIGINT", took.Round(time.Millisecond))
		all := out.String()
		checkNoCrash(t, all+errb.String())
		if errb.String() != "" {
			t.Errorf("stderr: %q", errb.String())
		}
		if strings.Contains(all, "\x1b") {
			t.Errorf("escape sequences in piped output:\n%q", all)
		}
		frames := strings.Count(raw, "SUBSCRIPTION")
		if got := len(regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+  NATS nats://`).FindAllString(raw, -1)); got != frames {
			t.Errorf("%d header lines for %d tables, want one each:\n%s", got, frames, raw)
		}
		if !regexp.MustCompile(`\n\n\d{4}-\d\d-\d\d `).MatchString(raw) {
			t.Errorf("snapshots not separated by a blank line:\n%s", raw)
		}
	})
}

// watchOnPTY runs `status --watch` under a rows x cols pty until two
// frames are drawn, checks that they were drawn in place, sends Ctrl-C
// and checks the end; it returns the screen's lines before Ctrl-C.
func watchOnPTY(t *testing.T, bin string, h *harness, rows, cols int) []string {
	t.Helper()
	var master *os.File
	out := &testenv.Buffer{}
	p := startWatch(t, bin, h, out, func(cmd *exec.Cmd) error {
		var err error
		master, err = pty.StartWithSize(cmd, &pty.Winsize{Rows: uint16(rows), Cols: uint16(cols)})
		return err
	})
	defer master.Close()
	read := make(chan struct{})
	go func() { _, _ = io.Copy(out, master); close(read) }() // ends with EIO once the process is gone

	raw := p.waitFrames(2, func(s string) bool { return strings.HasSuffix(s, clearBelow) })
	got := checkRedrawnInPlace(t, raw, rows, cols)

	sent := time.Now()
	if _, err := master.Write([]byte{0x03}); err != nil { // the line discipline sends SIGINT
		t.Fatal(err)
	}
	took := p.waitExit(sent)
	select {
	case <-read:
	case <-time.After(3 * time.Second):
		t.Fatal("the pty stayed open after repostctl ended")
	}
	t.Logf("%dx%d: %d bytes before Ctrl-C; exited %s after it", cols, rows, len(raw), took.Round(time.Millisecond))
	all := out.String()
	checkNoCrash(t, all)
	final := newVTScreen(rows, cols)
	if err := final.write([]byte(all)); err != nil {
		t.Fatalf("the terminal after Ctrl-C: %v\n%q", err, all)
	}
	if final.hidden {
		t.Error("the cursor is left hidden")
	}
	if final.scrolled != 0 || final.row < len(got) {
		t.Errorf("after Ctrl-C the cursor is on row %d (%d lines scrolled), want below the %d lines of the table:\n%s",
			final.row, final.scrolled, len(got), strings.Join(final.lines(), "\n"))
	}
	return got
}

// checkRedrawnInPlace checks the raw output of two or more frames: the
// first clears the screen, the later ones only go home (no flicker), and
// the screen a terminal shows is exactly the last frame drawn alone,
// which fits the screen: nothing scrolled. It returns the screen's lines.
func checkRedrawnInPlace(t *testing.T, raw string, rows, cols int) []string {
	t.Helper()
	if !strings.HasPrefix(raw, clearScreen) || strings.Count(raw, clearScreen) != 1 {
		t.Errorf("want one screen clear, at the start, got %d:\n%q", strings.Count(raw, clearScreen), raw)
	}
	i := strings.LastIndex(raw, cursorHome)
	if i <= 0 || strings.HasPrefix(raw[i:], clearScreen) {
		t.Fatalf("no later frame starting with a cursor-home %q:\n%q", cursorHome, raw)
	}
	screen, alone := newVTScreen(rows, cols), newVTScreen(rows, cols)
	if err := screen.write([]byte(raw)); err != nil {
		t.Fatalf("%v\n%q", err, raw)
	}
	if err := alone.write([]byte(raw[i:])); err != nil {
		t.Fatal(err)
	}
	got, want := screen.lines(), alone.lines()
	if strings.Join(got, "\n") != strings.Join(want, "\n") || screen.scrolled != 0 || alone.scrolled != 0 {
		t.Errorf("%dx%d: the screen after %d frames (%d lines scrolled off, %d for the last frame alone):\n%s\nwant the last frame alone, fitting the screen:\n%s",
			cols, rows, strings.Count(raw, "SUBSCRIPTION"), screen.scrolled, alone.scrolled, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	return got
}
