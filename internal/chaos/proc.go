package chaos

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process whose output goes to a log file.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	mu      sync.Mutex
	err     error // Wait's result, once done
	signal  bool  // stopped by the harness
}

// startProc runs bin with args and env (added to the harness's own),
// stdout and stderr appended to logPath.
func startProc(name, logPath, bin string, args, env []string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits up to timeout for the exit, then SIGKILLs. It
// returns Wait's error (nil for exit 0).
func (p *proc) stop(sig syscall.Signal, timeout time.Duration) error {
	p.mu.Lock()
	p.signal = true
	p.mu.Unlock()
	if !p.exited() {
		_ = p.cmd.Process.Signal(sig)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not exit within %s of %s", p.name, timeout, sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// kill is stop with SIGKILL.
func (p *proc) kill() { _ = p.stop(syscall.SIGKILL, 10*time.Second) }

// result is the exit error of an ended process, and whether the harness
// stopped it.
func (p *proc) result() (error, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err, p.signal
}

// tail returns the last n lines of the process's log.
func (p *proc) tail(n int) string { return tailFile(p.logPath, n) }

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitLine polls the process's log for a line containing want.
func (p *proc) waitLine(want string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(p.logPath); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				if strings.Contains(sc.Text(), want) {
					return sc.Text(), nil
				}
			}
		}
		if p.exited() {
			return "", fmt.Errorf("%s exited before printing %q:\n%s", p.name, want, p.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("%s did not print %q within %s:\n%s", p.name, want, timeout, p.tail(20))
}

// freePort returns a loopback port free right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitDial polls until addr accepts TCP connections or p exits.
func waitDial(p *proc, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited:\n%s", p.name, p.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New(p.name + " not listening on " + addr + " after " + timeout.String())
}
