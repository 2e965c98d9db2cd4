// Command repostchaos runs repost's chaos harness (package internal/chaos):
// nats-server, redis-server, marketo-sim and several repostd processes on
// loopback, failed events published, replicas SIGKILLed and restarted, Redis
// and NATS restarted, then the accounting of every event.
//
//	repostchaos [flags]     `make chaos`; -short for the two-minute version
//
// It prints the accounting as a table, writes it as JSON with -json FILE,
// and exits 0 when every check passed, 1 when one failed or the harness
// could not run, 2 on a bad command line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a bad command line (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// errFailed is a run whose accounting found a failed check.
var errFailed = errors.New("a check failed")

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "repostchaos:", err)
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
