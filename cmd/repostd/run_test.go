package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadops/repost/config"
)

func TestRunUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"frobnicate"}},
		{"unknown flag", []string{"--nope"}},
		{"extra argument", []string{"--config", "x.yaml", "extra"}},
		{"demo bad flag", []string{"demo", "--events", "0"}},
		{"demo bad faults", []string{"demo", "--faults", "1.5"}},
		{"demo sim-addr without a port", []string{"demo", "--sim-addr", "127.0.0.1"}},
		{"demo sim-addr on port 0", []string{"demo", "--sim-addr", "127.0.0.1:0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errb)
			if err == nil || !isUsage(err) {
				t.Fatalf("run(%q) = %v, want a usage error (exit 2)", tc.args, err)
			}
		})
	}
}

func TestRunBadConfigNamesTheField(t *testing.T) {
	var out, errb bytes.Buffer
	path := t.TempDir() + "/bad.yaml"
	writeFile(t, path, "subscriptions:\n  - id: not-a-munchkin\n    endpoint: https://x.mktorest.com\n    clientID: a\n    clientSecret: b\n")
	err := run(context.Background(), []string{"--config", path}, func(string) string { return "" }, &out, &errb)
	if err == nil || isUsage(err) || !strings.Contains(err.Error(), "subscriptions[0].id") {
		t.Fatalf("err = %v, want one naming subscriptions[0].id", err)
	}
}

// The README's first command, small: every event gets its outcome and the
// summary says so.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	dir := t.TempDir()
	err := run(context.Background(), []string{"demo", "--events", "400", "--pace", "0", "--data-dir", dir},
		func(string) string { return "" }, &out, &errb)
	if err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, out.String(), errb.String())
	}
	for _, want := range []string{
		"events published  400; with an outcome 400; duplicate outcomes 0",
		"limit violations caused by repost: 606=0 607=0 615=0 413=0",
		"field role",
		"repostctl --config " + dir + "/repost.yaml parked summary",
		"console: http://127.0.0.1:",
		"metrics: http://127.0.0.1:",
		"/metrics, console at http://127.0.0.1:",
		"The data directory is kept: " + dir,
		"go run ./cmd/repostd --config " + dir + "/repost.yaml",
		"repostctl --config " + dir + "/repost.yaml status --watch",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	// The configuration it leaves starts repostd on the same data.
	cfg, err := config.Load(dir+"/repost.yaml", nil)
	if err != nil || cfg.DataDir != dir || len(cfg.Subscriptions) != 1 || cfg.Subscriptions[0].Endpoint != "http://"+demoSimAddr {
		t.Errorf("the demo's configuration: %v %+v", err, cfg)
	}
	if _, err := os.Stat(filepath.Join(dir, "repostd.log")); err != nil {
		t.Errorf("the data directory was not kept: %v", err)
	}
}

// A configuration with no subscription would park every event it sees as
// unknown-subscription: repostd refuses to start, naming the file, before
// it connects to anything.
func TestRunRefusesZeroSubscriptions(t *testing.T) {
	var out, errb bytes.Buffer
	path := t.TempDir() + "/empty.yaml"
	writeFile(t, path, "nats: {url: \"nats://127.0.0.1:1\"}\nsubscriptions: []\n")
	err := run(context.Background(), []string{"--config", path}, func(string) string { return "" }, &out, &errb)
	if err == nil || isUsage(err) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no subscriptions") {
		t.Fatalf("err = %v, want one naming %s and saying it has no subscriptions (exit 1)", err, path)
	}
}

// repostd calls Marketo: a subscription with no client secret stops it at
// start (exit 1, not a usage error), and the error names the field.
func TestRunWithoutSecretNamesTheField(t *testing.T) {
	var out, errb bytes.Buffer
	path := t.TempDir() + "/nosecret.yaml"
	writeFile(t, path, "dataDir: "+t.TempDir()+"\nsubscriptions:\n  - {id: 123-ABC-456, endpoint: https://x.mktorest.com, clientID: a}\n")
	err := run(context.Background(), []string{"--config", path}, func(string) string { return "" }, &out, &errb)
	if err == nil || isUsage(err) || !strings.Contains(err.Error(), "subscriptions[0].clientSecret: required (or clientSecretFile)") {
		t.Fatalf("err = %v, want exit 1 naming subscriptions[0].clientSecret", err)
	}
}
