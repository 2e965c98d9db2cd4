package main

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/leadops/repost/config"
)

// serve runs the worker of a configuration file until ctx ends.
func serve(ctx context.Context, path string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return err
	}
	if len(cfg.Subscriptions) == 0 {
		// Such a replica would park every event it sees as
		// unknown-subscription (only the demo runs without a file).
		return fmt.Errorf("configuration %s: no subscriptions: repostd needs at least one under subscriptions", nameOf(path))
	}
	log := newLogger(cfg.Log, stderr)
	log.Info("configuration", zap.String("file", path), zap.String("config", cfg.Redacted()))
	if err := applyMemoryLimit(getenv, log); err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, log, appOptions{})
	if err != nil {
		return err
	}
	return a.run(ctx)
}

func nameOf(path string) string {
	if path == "" {
		return "(none: no --config nor REPOST_CONFIG)"
	}
	return path
}

// newLogger writes JSON lines, one event per line, at the configured level.
func newLogger(l config.Log, w io.Writer) *zap.Logger {
	level := zapcore.InfoLevel
	if err := level.UnmarshalText([]byte(l.Level)); err != nil || l.Level == "" {
		level = zapcore.InfoLevel
	}
	if l.Debug {
		level = zapcore.DebugLevel
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey, enc.EncodeTime = "ts", zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core)
}
