package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
)

var roles = map[string]bool{"CTO": true, "VP Marketing": true, "Engineer": true}

// newWorkerHarness runs a worker against the simulator and parks n leads
// on 1006 "Field 'role' not found" through it.
func newWorkerHarness(t *testing.T, n int) (*harness, *marketotest.Server) {
	t.Helper()
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	h.startWorker(sim, fixture.Sub)
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i, "field-role", time.Now().Add(-time.Hour), fixture.Sub)
	}
	h.publish(events)
	checkFor(t, 30*time.Second, func() error {
		if got := h.count(queue.StreamParked); got != n {
			return fmt.Errorf("%d of %d parked", got, n)
		}
		return nil
	})
	return h, sim
}

// waitReposted waits for every lead to be in the simulator with jobTitle
// set from its role, the parked queue to be empty, and checks that the
// simulator received each lead exactly once.
func waitReposted(t *testing.T, h *harness, sim *marketotest.Server, n int) {
	t.Helper()
	checkFor(t, 30*time.Second, func() error {
		if got := len(h.outcomes("reposted")); got != n {
			return fmt.Errorf("%d of %d requeued leads reposted", got, n)
		}
		return nil
	})
	for i := 0; i < n; i++ {
		leads := sim.LeadsBy("email", fixture.Email(i))
		if len(leads) != 1 {
			t.Fatalf("lead %d: %d leads in the simulator, want exactly 1", i, len(leads))
		}
		if jt, _ := leads[0]["jobTitle"].(string); !roles[jt] {
			t.Fatalf("lead %d: jobTitle = %v, want the role it was parked with (%v)", i, leads[0]["jobTitle"], leads[0])
		}
		if _, has := leads[0]["role"]; has {
			t.Fatalf("lead %d still has role", i)
		}
	}
	st := sim.Stats()
	if st.Records != n || st.RecordStatus["created"] != n || st.RecordStatus["updated"] != 0 {
		t.Errorf("simulator received %d records (%v), want each of %d leads exactly once", st.Records, st.RecordStatus, n)
	}
	if got := h.count(queue.StreamParked); got != 0 {
		t.Errorf("%d leads still parked (or parked again), want 0", got)
	}
	if got := h.count(queue.StreamFailed); got != 2*n {
		t.Errorf("POSTOUT_FAILED holds %d events, want %d originals + %d requeues", got, n, n)
	}
	requeued := h.outcomes("requeued")
	for i := 0; i < n; i++ {
		os := requeued[fixture.ID(i)]
		if len(os) != 1 || os[0].RequeuedAs != fixture.ID(i)+"~r1" || os[0].Actor != "oncall" || os[0].Code != "1006" {
			t.Fatalf("%s: requeued outcomes %+v, want one, as ~r1 by oncall with code 1006", fixture.ID(i), os)
		}
	}
}

// 1,000 leads parked by 1006 on role are one group; requeued with role
// renamed to jobTitle, all reach Marketo and nothing stays parked.
func TestRequeueRenamedFieldReachesMarketo(t *testing.T) {
	const n = 1000
	h, sim := newWorkerHarness(t, n)

	var groups []group
	if err := json.Unmarshal([]byte(h.mustRun("parked", "summary", "-o", "json")), &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Count != n || groups[0].Code != "1006" || groups[0].Field != "role" ||
		groups[0].Subscription != fixture.Sub || groups[0].ExampleReason != "Field 'role' not found" {
		t.Fatalf("summary = %+v, want one group of %d on 1006/role", groups, n)
	}
	table := h.mustRun("parked", "summary")
	if lines := strings.Split(table, "\n"); len(lines) < 2 || strings.Join(strings.Fields(lines[1])[:4], " ") != fixture.Sub+" 1006 role 1,000" {
		t.Errorf("summary table:\n%s", table)
	}

	dry := h.mustRun("parked", "requeue", "--code", "1006", "--rename-field", "role=jobTitle", "--dry-run", "--show", "2")
	if strings.Count(dry, "+++ ") != 2 || !strings.Contains(dry, `-      "role": `) || !strings.Contains(dry, `+      "jobTitle": `) ||
		!strings.Contains(dry, "1000 of 1000 leads would be requeued") {
		t.Errorf("dry run output:\n%s", dry)
	}
	if got := h.count(queue.StreamFailed); got != n {
		t.Fatalf("the dry run published: %d events in POSTOUT_FAILED", got)
	}

	out := h.mustRun("parked", "requeue", "--code", "1006", "--rename-field", "role=jobTitle", "--rate", "5000")
	if !strings.Contains(out, "requeued 1000 of 1000 leads (rename role=jobTitle); 0 left parked") {
		t.Errorf("requeue output: %s", out)
	}
	waitReposted(t, h, sim, n)
	// The worker's outcome of each replayed event names the one it replays.
	testenv.CheckFor(t, 30*time.Second, func() error {
		reposted := h.outcomes(repost.KindReposted)
		if len(reposted) < n {
			return fmt.Errorf("%d reposted outcomes, want %d", len(reposted), n)
		}
		for id, os := range reposted {
			if want := strings.TrimSuffix(id, "~r1"); os[0].RequeueOf != want {
				return fmt.Errorf("%s: requeueOf %q, want %q", id, os[0].RequeueOf, want)
			}
		}
		return nil
	})
}

var errKilled = errors.New("killed")

// A requeue killed between publishing and deleting, and one interrupted
// by a signal, are run again: no lead lost, none sent twice, none parked twice.
func TestRequeueInterruptedAndRunAgain(t *testing.T) {
	const n = 300
	h, sim := newWorkerHarness(t, n)
	args := []string{"parked", "requeue", "--field", "role", "--rename-field", "role=jobTitle", "--rate", "0"}

	// 1: killed after the 100th publication was acknowledged, before its
	// outcome and deletion.
	h.hooks.afterPublish = func(k int) error {
		if k == 100 {
			return errKilled
		}
		return nil
	}
	if _, _, err := h.run(context.Background(), args...); !errors.Is(err, errKilled) {
		t.Fatalf("first run: %v, want the injected kill", err)
	}
	if got := h.count(queue.StreamParked); got != n-99 {
		t.Fatalf("after the kill %d parked, want %d (the 100th published but still parked)", got, n-99)
	}

	// 2: interrupted (SIGINT) after 50 more.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.hooks.afterPublish = func(k int) error {
		if k == 50 {
			cancel()
		}
		return nil
	}
	if _, _, err := h.run(ctx, args...); !errors.Is(err, context.Canceled) {
		t.Fatalf("second run: %v, want it interrupted", err)
	}
	// What was published before the interrupt was finished: its entries are gone.
	left := h.count(queue.StreamParked)
	if left > n-99-50 || left == 0 {
		t.Fatalf("after the interrupt %d parked, want some, and at most %d", left, n-99-50)
	}

	// 3: run to the end.
	h.hooks.afterPublish = nil
	out := h.mustRun(args...)
	if !strings.Contains(out, fmt.Sprintf("requeued %d of %d leads", left, left)) {
		t.Errorf("third run: %s", out)
	}
	waitReposted(t, h, sim, n)
}

// discard writes its outcomes with actor, time and reason, and refuses to
// run without a reason or a filter.
func TestDiscardWritesOutcomes(t *testing.T) {
	h := newHarness(t, "https://123-ABC-456.mktorest.com", fixture.Sub)
	for i := 0; i < 10; i++ {
		h.park(fixture.Sub, i, "field-role", repost.ParkInfo{Code: "1006", Reason: "Field 'role' not found", Field: "role", ParkedAt: fixedNow})
	}
	for i := 10; i < 15; i++ {
		h.park(fixture.Sub, i, "type-mismatch", repost.ParkInfo{Code: "1001", Field: "numberOfEmployees",
			Reason: "Invalid value 'fifty'. Required of type 'integer'", ParkedAt: fixedNow})
	}
	for _, args := range [][]string{
		{"parked", "discard", "--code", "1001"},
		{"parked", "discard", "--reason", "oops"},
	} {
		if _, _, err := h.run(context.Background(), args...); exitCode(err, nopWriter{}) != 2 {
			t.Errorf("%v: %v, want exit 2", args, err)
		}
	}
	out := h.mustRun("parked", "discard", "--code", "1001", "--reason", "source sends words for numbers", "--actor", "alice")
	if !strings.Contains(out, "discarded 5 of 5 leads") {
		t.Errorf("discard output: %s", out)
	}
	got := h.outcomes("discarded")
	for i := 10; i < 15; i++ {
		os := got[fixture.ID(i)]
		if len(os) != 1 {
			t.Fatalf("%s: %d discarded outcomes", fixture.ID(i), len(os))
		}
		o := os[0]
		if o.Actor != "alice" || o.Reason != "source sends words for numbers" || !o.At.Equal(fixedNow) ||
			o.Code != "1001" || o.LeadID != fmt.Sprintf("L-%06d", i) || o.Subscription != fixture.Sub {
			t.Errorf("%s: outcome %+v", fixture.ID(i), o)
		}
	}
	if len(got) != 5 || h.count(queue.StreamParked) != 10 {
		t.Errorf("%d discarded, %d still parked; want 5 and 10", len(got), h.count(queue.StreamParked))
	}
	// The default actor is $USER.
	h.mustRun("parked", "discard", "--lead", "L-000003", "--reason", "test lead")
	if o := h.outcomes("discarded")[fixture.ID(3)]; len(o) != 1 || o[0].Actor != "oncall" {
		t.Errorf("default actor: %+v", o)
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// A lead whose value does not convert stays parked and is named; the
// others go back with the converted value; the exit status says so.
func TestRequeueCoercionFailureLeavesLeadParked(t *testing.T) {
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub)
	for i := 0; i < 3; i++ {
		h.park(fixture.Sub, i, "type-mismatch", repost.ParkInfo{Code: "1001", Field: "numberOfEmployees",
			Reason: "Invalid value 'fifty'. Required of type 'integer'", ParkedAt: fixedNow})
	}
	h.park(fixture.Sub, 3, "transient", repost.ParkInfo{Code: "1001", Field: "numberOfEmployees",
		Reason: "Invalid value", ParkedAt: fixedNow}) // numberOfEmployees is a number: it converts
	out, stderr, err := h.run(context.Background(), "parked", "requeue", "--code", "1001",
		"--coerce-field", "numberOfEmployees=integer", "--reason", "ticket OPS-42")
	if err == nil || isUsage(err) || strings.Count(stderr, "left parked: seq") != 3 ||
		!strings.Contains(stderr, `field "numberOfEmployees": "fifty" is not an integer`) ||
		!strings.Contains(out, "requeued 1 of 4 leads (coerce numberOfEmployees=integer); 3 left parked") {
		t.Fatalf("requeue: %v\nstdout %s\nstderr %s", err, out, stderr)
	}
	if got := h.count(queue.StreamParked); got != 3 {
		t.Errorf("%d parked, want the 3 that did not convert", got)
	}
	msgs := h.messages(queue.StreamFailed)
	if len(msgs) != 1 || msgs[0].Header.Get("Nats-Msg-Id") != fixture.ID(3)+"~r1" {
		t.Fatalf("published %d events, want evt-000003~r1", len(msgs))
	}
	ev, err := repost.DecodeEvent(msgs[0].Data, fixture.Sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, isNum := ev.RequestContent.Input[0]["numberOfEmployees"].(json.Number); !isNum || ev.RequeueOf != "evt-000003" {
		t.Errorf("requeued event %s", msgs[0].Data)
	}
	o := h.outcomes("requeued")[fixture.ID(3)]
	if len(o) != 1 || o[0].RequeuedAs != fixture.ID(3)+"~r1" || o[0].Code != "1001" || !o[0].At.Equal(fixedNow) ||
		o[0].Reason != "requeued as evt-000003~r1: coerce numberOfEmployees=integer; ticket OPS-42" {
		t.Errorf("requeued outcome %+v", o)
	}
}

// --rate bounds the publications per second; --all lifts the filter
// requirement; a dry run changes nothing.
func TestRequeueRateAndAll(t *testing.T) {
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub)
	for i := 0; i < 10; i++ {
		h.park(fixture.Sub, i, "field-role", repost.ParkInfo{Code: "1006", Field: "role", Reason: "Field 'role' not found", ParkedAt: fixedNow})
	}
	if out := h.mustRun("parked", "discard", "--all", "--dry-run", "--reason", "x"); !strings.Contains(out, "10 parked leads would be discarded") {
		t.Errorf("discard --all --dry-run: %s", out)
	}
	start := time.Now()
	out := h.mustRun("parked", "requeue", "--all", "--rate", "50", "--drop-field", "role")
	if el := time.Since(start); el < 170*time.Millisecond {
		t.Errorf("10 leads at 50/s took %v, want at least 180ms", el)
	}
	if !strings.Contains(out, "requeued 10 of 10 leads (drop role); 0 left parked") || h.count(queue.StreamParked) != 0 ||
		h.count(queue.StreamFailed) != 10 {
		t.Errorf("requeue --all: %s; %d parked, %d failed", out, h.count(queue.StreamParked), h.count(queue.StreamFailed))
	}
}

// A wrong fix parks the leads again as <id>~r1; the right one sends them
// as <id>~r2, and only then do they reach Marketo.
func TestRequeueAWrongFixThenTheRightOne(t *testing.T) {
	const n = 50
	h, sim := newWorkerHarness(t, n)
	h.mustRun("parked", "requeue", "--code", "1006", "--rename-field", "role=roleTitle", "--rate", "0")
	checkFor(t, 30*time.Second, func() error {
		var groups []group
		if err := json.Unmarshal([]byte(h.mustRun("parked", "summary", "-o", "json")), &groups); err != nil {
			return err
		}
		if len(groups) != 1 || groups[0].Count != n || groups[0].Field != "roleTitle" {
			return fmt.Errorf("summary %+v, want %d parked again on roleTitle", groups, n)
		}
		return nil
	})
	if sim.LeadCount() != 0 {
		t.Fatalf("%d leads reached Marketo with the wrong fix", sim.LeadCount())
	}
	out := h.mustRun("parked", "show", fixture.ID(7)+"~r1")
	if !strings.Contains(out, `"requeueOf": "evt-000007"`) || !strings.Contains(out, "field:         roleTitle") {
		t.Errorf("show of a re-parked requeue:\n%s", out)
	}
	h.mustRun("parked", "requeue", "--field", "roleTitle", "--rename-field", "roleTitle=jobTitle", "--rate", "0")
	checkFor(t, 30*time.Second, func() error {
		if got := sim.LeadCount(); got != n {
			return fmt.Errorf("%d of %d leads in Marketo", got, n)
		}
		return nil
	})
	for i := 0; i < n; i++ {
		l, _ := sim.Lead("email", fixture.Email(i))
		if jt, _ := l["jobTitle"].(string); !roles[jt] {
			t.Fatalf("lead %d: %v", i, l)
		}
	}
	requeued := h.outcomes("requeued")
	if o := requeued[fixture.ID(7)+"~r1"]; len(o) != 1 || o[0].RequeuedAs != fixture.ID(7)+"~r2" {
		t.Errorf("second requeue outcome: %+v", o)
	}
	checkFor(t, 30*time.Second, func() error {
		if got := h.count(queue.StreamParked); got != 0 {
			return fmt.Errorf("%d still parked", got)
		}
		return nil
	})
}
