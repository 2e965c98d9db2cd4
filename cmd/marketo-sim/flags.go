package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/leadops/repost/marketo/marketotest"
)

type config struct {
	addr string
	opts marketotest.Options
}

// programsFlag collects repeated --program "Name=Status1,Status2".
type programsFlag map[string][]string

func (p programsFlag) String() string { return fmt.Sprint(map[string][]string(p)) }

func (p programsFlag) Set(v string) error {
	name, statuses, ok := strings.Cut(v, "=")
	if !ok || name == "" || statuses == "" {
		return fmt.Errorf("want Name=Status1,Status2, got %q", v)
	}
	p[name] = strings.Split(statuses, ",")
	return nil
}

// fileFlags are the flags resolved after parsing.
type fileFlags struct {
	schema, programsFile, partitions *string
	programs                         programsFlag
}

func parseFlags(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("marketo-sim", flag.ContinueOnError)
	fs.SetOutput(stdout)
	ff := bindFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, &usageError{err}
	}
	if fs.NArg() > 0 {
		return c, &usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	o := &c.opts
	if o.ClientSecret == "" {
		o.ClientSecret = getenv("MARKETO_SIM_CLIENT_SECRET")
	}
	o.Partitions = strings.Split(*ff.partitions, ",")
	if err := loadJSON(*ff.schema, &o.Schema); err != nil {
		return c, &usageError{fmt.Errorf("--schema: %w", err)}
	}
	if err := loadJSON(*ff.programsFile, &o.Programs); err != nil {
		return c, &usageError{fmt.Errorf("--programs: %w", err)}
	}
	if len(ff.programs) > 0 && o.Programs == nil {
		o.Programs = marketotest.DefaultPrograms()
	}
	for name, st := range ff.programs {
		o.Programs[name] = st
	}
	if err := o.Validate(); err != nil {
		return c, &usageError{err}
	}
	return c, nil
}

// bindFlags declares every knob of marketotest.Options as a flag.
func bindFlags(fs *flag.FlagSet, c *config) fileFlags {
	o, l, f := &c.opts, &c.opts.Limits, &c.opts.Faults
	d := marketotest.DefaultLimits()
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8089", "listen address (port 0: any free port)")
	fs.StringVar(&o.ClientID, "client-id", marketotest.DefaultClientID, "accepted client_id")
	fs.StringVar(&o.ClientSecret, "client-secret", "", "accepted client_secret (default $MARKETO_SIM_CLIENT_SECRET, else "+marketotest.DefaultClientSecret+")")
	fs.DurationVar(&o.TokenTTL, "token-ttl", marketotest.DefaultTokenTTL, "access token lifetime")
	fs.BoolVar(&o.AllowQueryToken, "allow-query-token", false, "accept access_token as a query parameter")
	fs.IntVar(&l.CallsPerWindow, "calls-per-window", d.CallsPerWindow, "calls per sliding window (606)")
	fs.DurationVar(&l.Window, "window", d.Window, "sliding window length")
	fs.IntVar(&l.MaxConcurrency, "concurrency", d.MaxConcurrency, "calls in flight at once (615)")
	fs.IntVar(&l.DailyQuota, "quota", d.DailyQuota, "calls per day, reset at 00:00 America/Chicago (607)")
	fs.Int64Var(&l.MaxBodyBytes, "max-body", d.MaxBodyBytes, "request body limit in bytes (413)")
	fs.IntVar(&l.MaxBatch, "max-batch", d.MaxBatch, "records per call (1003)")
	fs.BoolVar(&o.DisableLimits, "no-limits", false, "never answer 606, 607 or 615")
	fs.Uint64Var(&f.Seed, "seed", 1, "fault seed")
	fs.Float64Var(&f.Rate604, "rate-604", 0, "rate of 604 Request timed out")
	fs.Float64Var(&f.Rate608, "rate-608", 0, "rate of 608 API Temporarily Unavailable")
	fs.Float64Var(&f.Rate611, "rate-611", 0, "rate of 611 System error")
	fs.Float64Var(&f.Rate713, "rate-713", 0, "rate of 713 Transient Error")
	fs.Float64Var(&f.Rate502, "rate-502", 0, "rate of HTTP 502 with an HTML body")
	fs.Float64Var(&f.RateHTML, "rate-html", 0, "rate of HTTP 200 with an HTML body")
	fs.Float64Var(&f.RateTruncated, "rate-truncated", 0, "rate of truncated JSON answers (the call is processed)")
	fs.Float64Var(&f.RateDrop, "rate-drop", 0, "rate of dropped connections")
	fs.Float64Var(&f.RateSlow, "rate-slow", 0, "rate of slow answers")
	fs.DurationVar(&f.SlowDelay, "slow-delay", 0, "delay of a slow answer (default 2s)")
	fs.DurationVar(&o.Latency, "latency", 0, "latency added to every REST call")
	fs.DurationVar(&o.LatencyPerRecord, "latency-per-record", 0, "latency added per input record")
	fs.IntVar(&o.CallLogSize, "call-log-size", marketotest.DefaultCallLogSize, "calls kept for /_sim/calls")
	fs.IntVar(&o.AnsweredLogSize, "answered-log-size", 0, "answered lead records kept for /_sim/answered (0: none)")
	ff := fileFlags{programs: programsFlag{}}
	ff.schema = fs.String("schema", "", "JSON file of the lead schema: {\"field\": \"string|email|integer|float|boolean|date|datetime\"}")
	ff.programsFile = fs.String("programs", "", "JSON file of programs: {\"Program\": [\"Status1\", ...]}")
	fs.Var(ff.programs, "program", "a program and its channel statuses, Name=Status1,Status2 (repeatable; added to the defaults or --programs)")
	ff.partitions = fs.String("partitions", marketotest.DefaultPartition, "lead partitions, comma-separated")
	return ff
}

func loadJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
