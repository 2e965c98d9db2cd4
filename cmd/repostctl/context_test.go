package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/fixture"
)

// With neither a NATS URL nor a running repostd on the data directory,
// repostctl refuses (exit 2) saying how to target one, and creates nothing
// there, rather than show an empty queue from a fresh ./data.
func TestNoTargetRefuses(t *testing.T) {
	dir := t.TempDir()
	home := t.TempDir()
	for _, args := range [][]string{
		{"parked", "summary"},
		{"status"},
		{"--data-dir", filepath.Join(dir, "data"), "parked", "list"},
	} {
		wd, _ := os.Getwd()
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		_, errOut, err := runQuiet(t, map[string]string{"HOME": home}, args...)
		_ = os.Chdir(wd)
		if exitCode(err, nopWriter{}) != 2 {
			t.Errorf("%v: %v, want exit 2", args, err)
		}
		for _, want := range []string{"no repostd is running", "--config", "--context", "--offline"} {
			if !strings.Contains(errOut+err.Error(), want) {
				t.Errorf("%v: the refusal does not mention %s:\n%v", args, want, err)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the refusal left %d entries in the working directory (%s...)", len(entries), entries[0].Name())
	}
}

// Named contexts: --context picks one, context use makes it current,
// context list marks it; a missing one is a usage error; explicit flags win.
func TestContexts(t *testing.T) {
	h := parkedMix(t) // a running embedded server with 10 parked leads
	xdg := t.TempDir()
	file := filepath.Join(xdg, "repost", "contexts.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	body := "contexts:\n  prod:\n    config: " + h.cfgPath + "\n  bydir:\n    dataDir: " + h.dir +
		"\n  nowhere:\n    dataDir: " + empty + "\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"XDG_CONFIG_HOME": xdg}
	count := func(args ...string) (int, error) {
		out, _, err := runQuiet(t, env, append(args, "parked", "list", "-o", "json")...)
		if err != nil {
			return -1, err
		}
		var rows []listRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return len(rows), nil
	}
	for _, name := range []string{"prod", "bydir"} {
		if n, err := count("--context", name); err != nil || n != 10 {
			t.Errorf("--context %s: %d leads, %v; want 10", name, n, err)
		}
	}
	if _, err := count("--context", "nowhere"); exitCode(err, nopWriter{}) != 2 {
		t.Errorf("--context nowhere (no repostd there): %v, want exit 2", err)
	}
	if _, err := count("--context", "staging"); exitCode(err, nopWriter{}) != 2 || !strings.Contains(err.Error(), "bydir, nowhere, prod") {
		t.Errorf("--context staging: %v, want exit 2 naming the contexts", err)
	}
	// No current context yet: nothing is targeted.
	if _, err := count(); exitCode(err, nopWriter{}) != 2 {
		t.Errorf("no context: %v, want exit 2", err)
	}
	if out, _, err := runQuiet(t, env, "context", "use", "prod"); err != nil || !strings.Contains(out, "current context: prod") {
		t.Fatalf("context use: %v %s", err, out)
	}
	if n, err := count(); err != nil || n != 10 {
		t.Errorf("current context prod: %d leads, %v", n, err)
	}
	// An explicit --data-dir beats the context.
	if _, err := count("--data-dir", empty); exitCode(err, nopWriter{}) != 2 {
		t.Errorf("--data-dir of no repostd over the current context: %v, want exit 2", err)
	}
	out, _, err := runQuiet(t, env, "context", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[3], "*") || !strings.Contains(lines[3], "prod") || !strings.Contains(lines[3], h.cfgPath) {
		t.Errorf("context list:\n%s", out)
	}
	if _, _, err := runQuiet(t, env, "context", "use", "nope"); exitCode(err, nopWriter{}) != 2 {
		t.Errorf("context use nope: %v, want exit 2", err)
	}
	// --contexts-file names another file.
	other := filepath.Join(t.TempDir(), "ctx.yaml")
	if err := os.WriteFile(other, []byte("current: d\ncontexts:\n  d: {dataDir: "+h.dir+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := count("--contexts-file", other); err != nil || n != 10 {
		t.Errorf("--contexts-file: %d leads, %v", n, err)
	}
}

// Read-only commands need no Marketo client secrets: an unset
// ${SECRET}, a missing clientSecretFile or no secret field at all does not
// stop them, and repostd still refuses such a configuration (config.Load,
// which repostd uses; cmd/repostd TestRunWithoutSecretNamesTheField).
func TestReadOnlyCommandsNeedNoSecrets(t *testing.T) {
	h := parkedMix(t)
	cfg := "dataDir: " + h.dir + "\nsubscriptions:\n" +
		"  - {id: " + fixture.Sub + ", endpoint: https://x.mktorest.com, clientID: a, clientSecret: \"${MARKETO_SECRET}\"}\n" +
		"  - {id: 222-PAU-222, endpoint: https://y.mktorest.com, clientID: b, clientSecretFile: /nonexistent/secret}\n" +
		"  - {id: 333-NOS-333, endpoint: https://z.mktorest.com, clientID: c}\n"
	path := filepath.Join(t.TempDir(), "repost.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path, nil); err == nil {
		t.Fatal("config.Load accepted unresolved secrets")
	}
	for _, args := range [][]string{{"parked", "summary"}, {"parked", "list"}, {"parked", "show", fixture.ID(4)},
		{"trace", fixture.ID(4)}, {"status"}, {"limits"}, {"policy"}} {
		if out, errOut, err := runQuiet(t, nil, append([]string{"--config", path}, args...)...); err != nil {
			t.Errorf("%v without secrets: %v\n%s%s", args, err, out, errOut)
		}
	}
	c, err := config.LoadWithoutSecrets(path, nil)
	if err != nil || c.Subscriptions[0].ClientSecret != config.SecretNotRead || c.Subscriptions[1].ClientSecret != config.SecretNotRead ||
		c.Subscriptions[2].ClientSecret != "" {
		t.Errorf("LoadWithoutSecrets: %v %+v", err, c)
	}
}
