package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/internal/testenv"
)

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// mustRun starts run on port 0 and returns its URL and a stop function that
// cancels it and returns run's error.
func mustRun(tb testing.TB, env map[string]string, args ...string) (string, *testenv.Buffer, func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, out)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !listening.MatchString(out.String()) {
		select {
		case err := <-done:
			cancel()
			tb.Fatalf("run ended early: %v (%s)", err, out)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			tb.Fatal("marketo-sim did not print its URL")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("run did not return after cancel")
		}
	}
	tb.Cleanup(func() { _ = stop() })
	return listening.FindStringSubmatch(out.String())[1], out, stop
}

func getJSON(tb testing.TB, u string, v any) {
	tb.Helper()
	resp, err := http.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
}

func syncLead(tb testing.TB, base, token, body string) string {
	tb.Helper()
	req, _ := http.NewRequest("POST", base+"/rest/v1/leads.json", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestRunServesUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	schema := filepath.Join(dir, "schema.json")
	if err := os.WriteFile(schema, []byte(`{"email":"email","role":"string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base, out, stop := mustRun(t, map[string]string{"MARKETO_SIM_CLIENT_SECRET": "from-env"},
		"-client-id", "cid", "-quota", "2", "-schema", schema, "-program", "Webinar=Invited,Attended")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	q := url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"from-env"}}
	getJSON(t, base+"/identity/oauth/token?"+q.Encode(), &tok)
	if tok.AccessToken == "" {
		t.Fatal("no token with the secret from the environment")
	}
	if got := syncLead(t, base, tok.AccessToken, `{"input":[{"email":"a@example.com","role":"CTO"}]}`); !strings.Contains(got, `"status":"created"`) {
		t.Fatalf("schema file not applied: %s", got)
	}
	if got := syncLead(t, base, tok.AccessToken, `{"programName":"Webinar","input":[{"email":"a@example.com"}]}`); !strings.Contains(got, `"success":true`) {
		t.Fatalf("second call: %s", got)
	}
	if got := syncLead(t, base, tok.AccessToken, `{"input":[{"email":"b@example.com"}]}`); !strings.Contains(got, `"607"`) {
		t.Fatalf("--quota 2 not applied: %s", got)
	}
	var count struct{ Count int }
	getJSON(t, base+"/_sim/leads?count", &count)
	var stats struct {
		Calls      int
		Violations map[string]int
	}
	getJSON(t, base+"/_sim/stats", &stats)
	if count.Count != 1 || stats.Calls != 3 || stats.Violations["607"] != 1 {
		t.Fatalf("count %d, stats %+v", count.Count, stats)
	}
	if err := stop(); err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	if _, err := http.Get(base + "/_sim/stats"); err == nil {
		t.Fatal("server still answers after stop")
	}
	if strings.Contains(out.String(), "from-env") || strings.Contains(out.String(), tok.AccessToken) {
		t.Fatalf("secret or token printed: %s", out)
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"unknown flag", []string{"-nope"}, 2},
		{"bad rate", []string{"-rate-604", "1.5"}, 2},
		{"bad program", []string{"-program", "NoStatuses"}, 2},
		{"missing schema file", []string{"-schema", "/nonexistent/schema.json"}, 2},
		{"extra argument", []string{"serve"}, 2},
		{"help", []string{"-h"}, 0},
		{"busy address", []string{"-addr", "256.0.0.1:1"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, func(string) string { return "" }, io.Discard)
			if got := exitCode(err, io.Discard); got != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d", got, err, tt.wantCode)
			}
		})
	}
}
