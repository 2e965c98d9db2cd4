package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/queue"
)

// runBare runs repostctl with the given environment and no harness.
func runBare(env map[string]string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	code := exitCode(err, &errb)
	return out.String(), errb.String(), code
}

// --actor defaults to $USER, then $LOGNAME; with neither the command
// (discard, requeue, subscription pause and resume) refuses (exit 2)
// rather than record an unknown actor.
func TestActorFallsBackToLognameThenRefuses(t *testing.T) {
	h := newHarness(t, "https://123-ABC-456.mktorest.com", fixture.Sub)
	for i := 0; i < 3; i++ {
		h.park(fixture.Sub, i, "field-role", repost.ParkInfo{Code: "1006", Reason: "Field 'role' not found", Field: "role", ParkedAt: fixedNow})
	}
	h.env = map[string]string{"LOGNAME": "night"}
	h.mustRun("parked", "discard", "--lead", "L-000000", "--reason", "test lead")
	if o := h.outcomes("discarded")[fixture.ID(0)]; len(o) != 1 || o[0].Actor != "night" {
		t.Errorf("actor from $LOGNAME: %+v", o)
	}
	h.env = map[string]string{}
	for _, args := range [][]string{
		{"parked", "discard", "--lead", "L-000001", "--reason", "test lead"},
		{"parked", "requeue", "--lead", "L-000001"},
		{"parked", "discard", "--lead", "L-000001", "--reason", "test lead", "--actor", " "},
		{"subscription", "pause", fixture.Sub, "--reason", "freeze"},
		{"subscription", "resume", fixture.Sub},
	} {
		_, errOut, err := h.run(context.Background(), args...)
		if exitCode(err, nopWriter{}) != 2 || !strings.Contains(errOut, "--actor") {
			t.Errorf("%v without an actor: %v, want exit 2 naming --actor\n%s", args, err, errOut)
		}
	}
	if got := h.count(queue.StreamParked); got != 2 {
		t.Errorf("%d parked after the refused commands, want 2", got)
	}
	if _, paused, err := h.q.GetPause(context.Background(), fixture.Sub); err != nil || paused {
		t.Errorf("a pause was stored without an actor (%v)", err)
	}
	if o := h.outcomes("discarded"); len(o) != 1 {
		t.Errorf("%d discarded outcomes, want 1: %v", len(o), o)
	}
	h.mustRun("parked", "discard", "--lead", "L-000001", "--reason", "test lead", "--actor", "bob")
	if o := h.outcomes("discarded")[fixture.ID(1)]; len(o) != 1 || o[0].Actor != "bob" {
		t.Errorf("explicit actor: %+v", o)
	}
}

// Typos get suggestions; completion is on; version exists.
func TestConventions(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{[]string{"parkd"}, 2, "", `did you mean parked?`},
		{[]string{"parked", "lst"}, 2, "", `did you mean list?`},
		{[]string{"version"}, 0, "repostctl " + version, ""},
		{[]string{"completion", "bash"}, 0, "bash completion", ""},
		{[]string{"completion", "zsh"}, 0, "#compdef repostctl", ""},
		{[]string{"completion", "fish"}, 0, "fish completion for repostctl", ""},
		{[]string{"completion"}, 2, "", "Usage:"},
		{[]string{"completion", "fsh"}, 2, "", "did you mean"},
	} {
		out, errOut, code := runBare(nil, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
			t.Errorf("%v: exit %d, want %d (stdout must hold %q, stderr %q)\nstdout: %.300s\nstderr: %.300s",
				tt.args, code, tt.code, tt.out, tt.err, out, errOut)
		}
	}
}

// Help text never names internal documents.
func TestHelpNamesNoInternalDocuments(t *testing.T) {
	var visit func(args []string)
	seen := 0
	visit = func(args []string) {
		out, _, code := runBare(nil, append(args, "--help")...)
		if code != 0 {
			t.Fatalf("%v --help: exit %d", args, code)
		}
		seen++
		for _, w := range []string{"CONTRACT", "DESIGN", "§"} {
			if strings.Contains(out, w) {
				t.Errorf("repostctl %v --help names %q:\n%s", args, w, out)
			}
		}
		g := &globals{}
		c, _, err := newRoot(&env{getenv: func(string) string { return "" }}, g).Find(args)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" {
				visit(append(append([]string(nil), args...), sub.Name()))
			}
		}
	}
	visit(nil)
	if seen < 10 {
		t.Errorf("visited %d commands", seen)
	}
}

// parked summary --limit says when the total was cut, and only then.
func TestSummaryLimitSaysWhenCut(t *testing.T) {
	h := parkedMix(t) // 10 parked leads
	for _, tt := range []struct {
		limit string
		total string
		cut   bool
	}{{"4", "4 parked leads", true}, {"10", "10 parked leads", false}, {"0", "10 parked leads", false}} {
		out := h.mustRun("parked", "summary", "--limit", tt.limit)
		if !strings.Contains(out, tt.total) || strings.Contains(out, "total is cut") != tt.cut {
			t.Errorf("--limit %s:\n%s", tt.limit, out)
		}
		_, errOut, err := h.run(context.Background(), "parked", "summary", "--limit", tt.limit, "-o", "json")
		if err != nil || strings.Contains(errOut, "total is cut") != tt.cut {
			t.Errorf("--limit %s -o json: %v, stderr %q", tt.limit, err, errOut)
		}
	}
}

// requeue refuses to republish mapping-code leads unchanged without
// --no-fix, and says when no repostd is running to take them.
func TestRequeueWarnsMappingCodesWithoutFix(t *testing.T) {
	h := newHarness(t, "https://123-ABC-456.mktorest.com", fixture.Sub)
	for i := 0; i < 3; i++ {
		h.park(fixture.Sub, i, "field-role", repost.ParkInfo{Code: "1006", Reason: "Field 'role' not found", Field: "role", ParkedAt: fixedNow})
	}
	h.park(fixture.Sub, 3, "transient", repost.ParkInfo{Code: "retries-exhausted", Reason: "604 ten times", ParkedAt: fixedNow})
	_, errOut, err := h.run(context.Background(), "parked", "requeue", "--code", "1006")
	if exitCode(err, nopWriter{}) != 2 || !strings.Contains(err.Error(), "1006 ×3") || !strings.Contains(err.Error(), "--no-fix") {
		t.Errorf("requeue of 1006 without a fix: %v, want exit 2 naming 1006 ×3 and --no-fix\n%s", err, errOut)
	}
	if got := h.count(queue.StreamParked); got != 4 {
		t.Fatalf("%d parked after the refusal, want 4", got)
	}
	// Not a mapping code: no fix needed; no repostd runs: said.
	_, errOut, err = h.run(context.Background(), "parked", "requeue", "--code", "retries-exhausted")
	if err != nil || !strings.Contains(errOut, "no repostd is running") {
		t.Errorf("requeue of retries-exhausted: %v\n%s", err, errOut)
	}
	if out := h.mustRun("parked", "requeue", "--code", "1006", "--no-fix"); !strings.Contains(out, "requeued 3 of 3 leads") {
		t.Errorf("requeue --no-fix: %s", out)
	}
	if got := h.count(queue.StreamParked); got != 0 {
		t.Errorf("%d parked after the requeues, want 0", got)
	}
}
