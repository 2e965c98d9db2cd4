package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/leadops/repost/marketo/marketotest"
)

// shutdownTimeout bounds how long calls in flight may take to finish after
// SIGTERM; held (paused) calls are released first.
const shutdownTimeout = 5 * time.Second

// run parses the flags, serves the simulator until ctx ends, then shuts the
// HTTP server down: resume held calls, stop accepting, wait for the calls in
// flight.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseFlags(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	sim := marketotest.New(cfg.opts)
	mux := http.NewServeMux()
	mux.Handle(marketotest.AdminPrefix, sim.AdminHandler())
	mux.Handle("/", sim)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "marketo-sim listening on http://%s\n", ln.Addr())
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sim.Resume()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(stdout, "marketo-sim stopped")
	return nil
}
