// Command marketo-sim runs the Marketo simulator of package
// marketo/marketotest as its own process, for multi-process tests, the
// benchmarks and trying repostd by hand.
//
//	marketo-sim [flags]    serve until SIGTERM/SIGINT, then exit 0
//
// It prints "marketo-sim listening on http://ADDR" once it accepts calls.
// Identity is at /identity/oauth/token, REST under /rest/, and the
// simulator's state as JSON under /_sim/ (stats, calls, quota, leads, and
// POST faults, revoke, pause, resume, reset). The client secret is read from
// MARKETO_SIM_CLIENT_SECRET when --client-secret is not given, so that it
// need not appear in the process list.
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
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	var u *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		fmt.Fprintln(stderr, "marketo-sim:", err)
		return 2
	}
	fmt.Fprintln(stderr, "marketo-sim:", err)
	return 1
}

// usageError is a bad command line (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }
