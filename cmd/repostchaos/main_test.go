package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		wantUsage bool
		check     func(cliOptions) bool
	}{
		{"full by default", nil, false, func(c cliOptions) bool { return c.opts.Events == 20000 && !c.opts.Short }},
		{"short", []string{"-short"}, false, func(c cliOptions) bool {
			return c.opts.Events == 3000 && c.opts.Short && c.opts.KillEvery == 2*time.Second
		}},
		{"short then an override", []string{"-short", "-events", "500", "-json", "x.json"}, false, func(c cliOptions) bool {
			return c.opts.Events == 500 && c.opts.Short && c.jsonPath == "x.json"
		}},
		{"every knob", []string{"-workers", "2", "-kill-every", "5s", "-bound", "1m", "-seed", "7", "-faults", "0.2"}, false,
			func(c cliOptions) bool {
				o := c.opts
				return o.Workers == 2 && o.KillEvery == 5*time.Second && o.Bound == time.Minute && o.Seed == 7 && o.FaultRate == 0.2
			}},
		{"cluster", []string{"-short", "-cluster"}, false, func(c cliOptions) bool {
			o := c.opts
			return o.Cluster && o.Events == 3000 && o.NATSSignal == "kill" && o.NATSAt == 4*time.Second && o.LeaderGap == 4*time.Second
		}},
		{"cluster then an override", []string{"--cluster=true", "-nats-signal", "term", "-leader-gap", "1s"}, false, func(c cliOptions) bool {
			o := c.opts
			return o.Cluster && o.Events == 20000 && o.NATSSignal == "term" && o.LeaderGap == time.Second
		}},
		{"no cluster", []string{"-cluster=false"}, false, func(c cliOptions) bool { return !c.opts.Cluster && c.opts.NATSSignal == "term" }},
		{"mix knobs", []string{"-short", "-max-age", "2m", "-expire-margin", "10s", "-paused", "7", "-pair-every", "20"}, false, func(c cliOptions) bool {
			o := c.opts
			return o.MaxAge == 2*time.Minute && o.ExpireMargin == 10*time.Second && o.PausedEvents == 7 && o.PairEvery == 20
		}},
		{"margin not below the max age", []string{"-max-age", "10s", "-expire-margin", "10s"}, true, nil},
		{"unknown flag", []string{"-nope"}, true, nil},
		{"bad value", []string{"-events", "0"}, true, nil},
		{"bad signal", []string{"-nats-signal", "hup"}, true, nil},
		{"extra argument", []string{"extra"}, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var errb bytes.Buffer
			c, err := parseFlags(tc.args, &errb)
			var u *usageError
			if got := errors.As(err, &u); got != tc.wantUsage {
				t.Fatalf("parseFlags(%q) = %v, want usage error %v", tc.args, err, tc.wantUsage)
			}
			if tc.check != nil && !tc.check(c) {
				t.Errorf("parseFlags(%q) = %+v", tc.args, c.opts)
			}
		})
	}
}

func TestRunUsageExitCode(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"-workers", "0"}, &out, &errb)
	if got := exitCode(err, &errb); got != 2 {
		t.Errorf("exit code %d, want 2 (err %v)", got, err)
	}
	if got := exitCode(nil, &errb); got != 0 {
		t.Errorf("exit code of nil = %d", got)
	}
	if got := exitCode(errFailed, &errb); got != 1 {
		t.Errorf("exit code of a failed check = %d", got)
	}
}
