// Command repostd is the repost worker: it takes failed Marketo post-outs
// from NATS JetStream, decides what each needs, reposts within the shared
// Marketo limits, and leaves exactly one outcome per event.
//
//	repostd [--config FILE]   run until SIGTERM/SIGINT, then drain and exit 0
//	repostd demo              everything in one process, with a simulator
//	repostd version
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // America/Chicago must load in a distroless image
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr *os.File) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "repostd:", err)
	if isUsage(err) {
		return 2
	}
	return 1
}
