package chaos

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/marketo/marketotest"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// cleanEvidence is a run where everything went right: evt-0 reposted,
// evt-1 parked, evt-2 rejected, the out-of-order pair evt-3 (newer,
// reposted) and evt-4 (older, superseded), and evt-p0 of the paused
// subscription parked as expired 80 s after its publication (max age 90 s,
// margin 15 s).
func cleanEvidence() evidence {
	drained := t0.Add(time.Minute)
	return evidence{
		published: map[string]published{
			"evt-0":  {Kind: "transient", Email: "a@example.com", LastName: "Lovelace0", DataAt: t0, PubAt: t0},
			"evt-1":  {Kind: "field-role", Email: "b@example.com", PubAt: t0},
			"evt-2":  {Kind: "invalid", PubAt: t0},
			"evt-3":  {Kind: KindPairNewer, Email: "c@example.com", LastName: "Newer-3", DataAt: t0.Add(time.Minute), PubAt: t0},
			"evt-4":  {Kind: KindPairOlder, Email: "c@example.com", LastName: "Older-3", DataAt: t0, PubAt: t0},
			"evt-p0": {Kind: KindPaused, Email: "p@example.com", LastName: "Lovelace1000000", DataAt: t0, PubAt: t0},
		},
		outcomes: []repost.Outcome{
			{EventID: "evt-0", Kind: repost.KindReposted, MarketoID: 7, At: t0.Add(10 * time.Second)},
			{EventID: "evt-1", Kind: repost.KindParked, Code: "1006", At: t0.Add(10 * time.Second)},
			{EventID: "evt-2", Kind: repost.KindRejected, Code: "invalid", At: t0.Add(time.Second)},
			{EventID: "evt-3", Kind: repost.KindReposted, MarketoID: 9, At: t0.Add(12 * time.Second)},
			{EventID: "evt-4", Kind: repost.KindSkipped, Code: "superseded", At: t0.Add(13 * time.Second)},
			{EventID: "evt-p0", Kind: repost.KindParked, Code: "expired", At: t0.Add(80 * time.Second),
				Reason: "about to age out of POSTOUT_FAILED (max age 1m30s) while the subscription was paused by chaos: held"},
		},
		leads: []simLead{{Email: "A@example.com", ID: 7, LastName: "Lovelace0"}, {Email: "c@example.com", ID: 9, LastName: "Newer-3"}},
		stats: marketotest.Stats{Calls: 2, Records: 3, ByCode: map[string]int{"ok": 2}, Violations: map[int]int{},
			RecordStatus: map[string]int{"created": 2, "skipped": 1}},
		calls: []marketotest.Call{
			{At: t0.Add(10 * time.Second), Code: "ok", Records: 3, Path: marketotest.SyncLeadsPath},
			{At: t0.Add(23 * time.Second), Code: "ok", Path: marketotest.UsagePath},
		},
		answered: []marketotest.Answered{
			{Call: 1, At: t0.Add(10 * time.Second), Lookup: "a@example.com", Digest: "d0", Status: "created", LeadID: 7},
			{Call: 1, At: t0.Add(10 * time.Second), Lookup: "b@example.com", Digest: "d1", Status: "skipped", Code: "1006"},
			{Call: 1, At: t0.Add(10 * time.Second), Lookup: "c@example.com", Digest: "d3", Status: "created", LeadID: 9},
		},
		pausedCalls: []marketotest.Call{{At: t0.Add(25 * time.Second), Code: "ok", Path: marketotest.UsagePath}},
		parked:      map[string]string{"evt-p0": "expired"},
		maxAge:      90 * time.Second, margin: 15 * time.Second,
		// Redis killed at 20 s: one call answered ok before, two through the read.
		restore: RestoreCounts{LostAt: t0.Add(21 * time.Second), Count: 2, From: "marketo usage 2026-11-23 (API user a@b)"},
		window:  2 * time.Second,
		chaos: ChaosLog{Kills: 3, RedisRestarts: 1, NATSRestarts: 1, DrainedAt: &drained, Windows: []Window{
			{What: "redis", From: t0.Add(20 * time.Second), To: t0.Add(30 * time.Second)},
			{What: "nats", From: t0.Add(40 * time.Second), To: t0.Add(50 * time.Second)},
		}},
	}
}

func failed(checks []Check) []string {
	var names []string
	for _, c := range checks {
		if !c.OK {
			names = append(names, c.Name)
		}
	}
	return names
}

func TestEvaluate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*evidence)
		want   string // the one failing check; "" for none
	}{
		{"clean run", func(*evidence) {}, ""},
		{"missing outcome", func(e *evidence) { e.outcomes = append(e.outcomes[:2:2], e.outcomes[3:]...) }, "every event has a terminal outcome"},
		{"foreign outcome", func(e *evidence) {
			e.outcomes = append(e.outcomes, repost.Outcome{EventID: "evt-9", Kind: repost.KindParked})
		}, "every event has a terminal outcome"},
		{"two outcomes", func(e *evidence) { e.outcomes = append(e.outcomes, e.outcomes[1]) }, "no event has two outcomes"},
		{"wrong outcome for the kind", func(e *evidence) { e.outcomes[1].Kind = repost.KindSkipped }, "each event ends as its kind requires"},
		{"lead lost", func(e *evidence) { e.leads = e.leads[1:] }, "no lead lost"},
		{"push repeat answered 1037", func(e *evidence) {
			e.published["evt-0"] = published{Kind: "push", Email: "a@example.com", LastName: "Lovelace0"}
			e.outcomes[0] = repost.Outcome{EventID: "evt-0", Kind: repost.KindSkipped, Code: "1037"}
		}, ""},
		{"push repeat answered 1037 without the lead", func(e *evidence) {
			e.published["evt-0"] = published{Kind: "push", Email: "a@example.com", LastName: "Lovelace0"}
			e.outcomes[0] = repost.Outcome{EventID: "evt-0", Kind: repost.KindSkipped, Code: "1037"}
			e.leads = e.leads[1:]
		}, "no lead lost"},
		{"sync lead skipped 1037", func(e *evidence) {
			e.outcomes[0] = repost.Outcome{EventID: "evt-0", Kind: repost.KindSkipped, Code: "1037"}
		}, "each event ends as its kind requires; no lead lost"},
		{"wrong marketo id", func(e *evidence) { e.leads[0].ID = 8 }, "reposted outcomes carry the lead's Marketo id"},
		{"606 outside the restart windows", func(e *evidence) {
			e.calls = append(e.calls, marketotest.Call{At: t0.Add(35 * time.Second), Code: "606"})
			e.stats.Calls++
		}, "no 606/615/607 on any call, restart windows included"},
		{"615 inside the Redis restart window", func(e *evidence) {
			e.calls = append(e.calls, marketotest.Call{At: t0.Add(25 * time.Second), Code: "615"})
			e.stats.Calls++
		}, "no 606/615/607 on any call, restart windows included"},
		{"call log incomplete", func(e *evidence) { e.stats.Calls = 5 }, "no 606/615/607 on any call, restart windows included"},
		{"607", func(e *evidence) { e.stats.Violations[607] = 1 }, "no 606/615/607 on any call, restart windows included"},
		{"413", func(e *evidence) { e.stats.Violations[413] = 1 }, "no 413/414"},
		{"restored below the calls before the loss", func(e *evidence) { e.restore.Count = 0 },
			"day's count restored from Marketo's usage, within the simulator's bounds"},
		{"restored above the calls through the read", func(e *evidence) { e.restore.Count = 3 },
			"day's count restored from Marketo's usage, within the simulator's bounds"},
		{"restored from the worst case", func(e *evidence) { e.restore.From = "worst case (Marketo's usage could not be read)" },
			"day's count restored from Marketo's usage, within the simulator's bounds"},
		{"state never found lost", func(e *evidence) { e.restore = RestoreCounts{} },
			"day's count restored from Marketo's usage, within the simulator's bounds"},
		{"lease left", func(e *evidence) { e.leases = 1 }, "no lease left after its TTL"},
		{"secret logged", func(e *evidence) { e.secretInLogs = true }, "client secret absent from every log"},
		{"no Redis restart", func(e *evidence) { e.chaos.RedisRestarts = 0 }, "chaos happened during the drain"},
		{"cluster run with its three leader kills", func(e *evidence) { e.natsRestarts, e.chaos.NATSRestarts = 3, 3 }, ""},
		{"cluster run with one leader kill only", func(e *evidence) { e.natsRestarts = 3 }, "chaos happened during the drain"},
		{"restart after the drain", func(e *evidence) {
			late := t0.Add(30 * time.Second) // before the NATS restart
			e.chaos.DrainedAt = &late
		}, "chaos happened during the drain"},
		{"replica died unasked", func(e *evidence) { e.chaos.UnexpectedExits = []string{"repostd-0.1"} },
			"replicas die only when killed and exit 0 on SIGTERM"},
		{"older data of a pair last in Marketo", func(e *evidence) { e.leads[1].LastName = "Older-3" },
			"Marketo holds the newest data of every lead"},
		{"older data last after Redis lost its state (the marks survive it: no excuse)", func(e *evidence) {
			e.leads[1].LastName = "Older-3"
			e.outcomes[4] = repost.Outcome{EventID: "evt-4", Kind: repost.KindReposted, MarketoID: 9, At: t0.Add(25 * time.Second)}
		}, "Marketo holds the newest data of every lead"},
		{"older data last, reposted before Redis lost anything", func(e *evidence) {
			e.leads[1].LastName = "Older-3"
			e.outcomes[4] = repost.Outcome{EventID: "evt-4", Kind: repost.KindReposted, MarketoID: 9, At: t0.Add(14 * time.Second)}
		}, "Marketo holds the newest data of every lead"},
		{"older event of a pair reposted before the newer", func(e *evidence) {
			e.outcomes[4] = repost.Outcome{EventID: "evt-4", Kind: repost.KindReposted, MarketoID: 9}
		}, ""},
		{"older event of a pair skipped on another code", func(e *evidence) { e.outcomes[4].Code = "1005" },
			"each event ends as its kind requires"},
		{"no lead to compare", func(e *evidence) {
			e.leads = nil
			e.outcomes[0].Kind, e.outcomes[3].Kind = repost.KindParked, repost.KindParked
			e.published["evt-0"] = published{Kind: "field-role", Email: "a@example.com"}
			e.published["evt-3"] = published{Kind: "field-role", Email: "c@example.com"}
			e.published["evt-4"] = published{Kind: "field-role", Email: "c@example.com"}
			e.outcomes[4] = repost.Outcome{EventID: "evt-4", Kind: repost.KindParked}
		}, "Marketo holds the newest data of every lead"},
		{"paused event reposted", func(e *evidence) {
			e.outcomes[5] = repost.Outcome{EventID: "evt-p0", Kind: repost.KindReposted, At: t0.Add(80 * time.Second)}
		}, "each event ends as its kind requires; no lead lost; paused subscription's events parked as expired before aging out"},
		{"paused event parked on another code", func(e *evidence) { e.outcomes[5].Code = "retries-exhausted" },
			"each event ends as its kind requires; paused subscription's events parked as expired before aging out"},
		{"paused event lost", func(e *evidence) { e.outcomes = e.outcomes[:5] },
			"every event has a terminal outcome; paused subscription's events parked as expired before aging out"},
		{"paused event parked past its max age", func(e *evidence) { e.outcomes[5].At = t0.Add(95 * time.Second) },
			"paused subscription's events parked as expired before aging out"},
		{"paused event parked before the line", func(e *evidence) { e.outcomes[5].At = t0.Add(60 * time.Second) },
			"paused subscription's events parked as expired before aging out"},
		{"paused event's reason without the pause", func(e *evidence) { e.outcomes[5].Reason = "had a backlog that long" },
			"paused subscription's events parked as expired before aging out"},
		{"paused event without its parked entry", func(e *evidence) { e.parked = map[string]string{} },
			"paused subscription's events parked as expired before aging out"},
		{"lead call to the paused subscription's Marketo", func(e *evidence) {
			e.pausedCalls = append(e.pausedCalls, marketotest.Call{At: t0.Add(30 * time.Second), Code: "ok", Path: marketotest.SyncLeadsPath})
		}, "paused subscription's events parked as expired before aging out"},
		{"main event expired", func(e *evidence) {
			e.outcomes[0] = repost.Outcome{EventID: "evt-0", Kind: repost.KindParked, Code: "expired", At: t0.Add(80 * time.Second)}
		}, "each event ends as its kind requires; no lead lost"},
		{"records answered again with nothing in between", func(e *evidence) { addRepeat(e, 12*time.Second, false) },
			"no Marketo call repeated for records already answered"},
		{"records answered again after a kill", func(e *evidence) {
			e.chaos.KillTimes = []time.Time{t0.Add(11 * time.Second)}
			addRepeat(e, 12*time.Second, false)
		}, ""},
		{"records answered again after an unread answer", func(e *evidence) { addRepeat(e, 12*time.Second, true) }, ""},
		{"records answered again across the Redis restart", func(e *evidence) { addRepeat(e, 21*time.Second, false) }, ""},
		{"answered log incomplete", func(e *evidence) { e.answered = e.answered[:2] },
			"no Marketo call repeated for records already answered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := cleanEvidence()
			tc.change(&ev)
			_, checks := evaluate(ev)
			got := strings.Join(failed(checks), "; ")
			if got != tc.want {
				t.Errorf("failed checks = %q, want %q", got, tc.want)
			}
		})
	}
}

// addRepeat answers evt-0's record (digest d0) again at t0+at in call 3;
// with unread, the first answer never reached the caller.
func addRepeat(e *evidence, at time.Duration, unread bool) {
	e.answered[0].Undelivered = unread
	e.answered = append(e.answered, marketotest.Answered{Call: 3, At: t0.Add(at), Lookup: "a@example.com", Digest: "d0", Status: "updated", LeadID: 7})
	e.stats.Records++
}

func TestEvaluateCounts(t *testing.T) {
	ev := cleanEvidence()
	ev.outcomes = append(ev.outcomes, ev.outcomes[0]) // a duplicate publication
	ev.leads = append(ev.leads, simLead{Email: "a@example.com", ID: 9})
	ev.stats.RecordStatus["updated"] = 4
	ev.calls = append(ev.calls, marketotest.Call{At: t0.Add(21 * time.Second), Code: "606"})
	a, _ := evaluate(ev)
	oc, lc, mc, rc := a.outcomes, a.leads, a.marketo, a.restore
	got := fmt.Sprintf("decided=%d multi=%d dupOutcomes=%d dupRecords=%d resent=%d limitAnswers=%d lpc=%.1f okBeforeLoss=%d throughRead=%d reads=%d",
		oc.Decided, oc.MultiCount, lc.DuplicateOutcomes, lc.DuplicateRecords, lc.RecordsResent, mc.LimitAnswers, mc.LeadsPerCall,
		rc.SimOKBeforeLoss, rc.SimCallsThroughRead, rc.UsageReads)
	want := "decided=6 multi=1 dupOutcomes=1 dupRecords=1 resent=4 limitAnswers=1 lpc=1.5 okBeforeLoss=1 throughRead=3 reads=1"
	if got != want {
		t.Errorf("counts %s, want %s", got, want)
	}
}

func TestMaxInSpan(t *testing.T) {
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	cases := []struct {
		name string
		ts   []time.Time
		want int
	}{
		{"none", nil, 0},
		{"one", at(5), 1},
		{"all inside", at(0, 500, 1999), 3},
		{"span is half-open", at(0, 2000), 1},
		{"unsorted", at(3000, 0, 2500, 1000, 4100), 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxInSpan(tc.ts, 2*time.Second); got != tc.want {
				t.Errorf("maxInSpan = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		name      string
		change    func(*Options)
		wantField string
	}{
		{"full", func(*Options) {}, ""},
		{"short", func(o *Options) { *o = Short() }, ""},
		{"no events", func(o *Options) { o.Events = 0 }, "events"},
		{"bad mix", func(o *Options) { o.MixFraction = 1.5 }, "mixFraction"},
		{"bad signal", func(o *Options) { o.NATSSignal = "hup" }, "natsSignal"},
		{"ack wait under the keep-alive", func(o *Options) { o.AckWait = 30 * time.Second }, "ackWait"},
		{"faults", func(o *Options) { o.FaultRate = 1 }, "faultRate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := Full()
			tc.change(&o)
			err := o.Validate()
			ce, _ := err.(*ConfigError)
			switch {
			case tc.wantField == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantField != "" && (ce == nil || ce.Field != tc.wantField):
				t.Errorf("Validate() = %v, want a *ConfigError on %s", err, tc.wantField)
			}
		})
	}
}
