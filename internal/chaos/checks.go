package chaos

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
)

// simLead is a lead the simulator holds.
type simLead struct {
	Email    string
	ID       int64
	LastName string
}

// evidence is everything a run leaves behind, read back after the drain.
type evidence struct {
	published    map[string]published
	outcomes     []repost.Outcome // the outcome stream, oldest first
	leads        []simLead
	stats        marketotest.Stats
	calls        []marketotest.Call
	answered     []marketotest.Answered // the simulator's answered-records log
	pausedCalls  []marketotest.Call     // PausedSub's simulator
	parked       map[string]string      // PausedSub's parked entries: eventId → code
	maxAge       time.Duration          // POSTOUT_FAILED's
	margin       time.Duration          // worker.expireMargin
	window       time.Duration
	chaos        ChaosLog
	leases       int
	secretInLogs bool
	restore      RestoreCounts // from Redis after the drain; the simulator's bounds are added by evaluate
	natsRestarts int           // the NATS restarts the run was to make
}

const listMax = 20

func capped(list []string, s string) []string {
	if len(list) < listMax {
		list = append(list, s)
	}
	return list
}

// accounting is what evaluate counts.
type accounting struct {
	outcomes OutcomeCounts
	leads    LeadCounts
	marketo  MarketoCounts
	restore  RestoreCounts
	order    OrderCounts
	expiry   ExpiryCounts
	repeats  RepeatCounts
}

// evaluate computes the accounting and its checks from the evidence; it is
// pure, so each check is tested on synthetic evidence.
func evaluate(ev evidence) (accounting, []Check) {
	oc, first := countOutcomes(ev)
	lc := countLeads(ev, first)
	mc := countCalls(ev)
	rc := boundRestore(ev)
	orc, ec, pc := countOrder(ev, first), countExpiry(ev, first), countRepeats(ev)
	ch := ev.chaos
	restartsDuring := ch.DrainedAt != nil
	for _, w := range ch.Windows {
		if ch.DrainedAt != nil && !w.From.Before(*ch.DrainedAt) {
			restartsDuring = false
		}
	}
	v := ev.stats.Violations
	checks := []Check{
		{"every event has a terminal outcome", oc.MissingCount == 0 && oc.Foreign == 0,
			fmt.Sprintf("%d of %d decided, %d missing %v, %d foreign", oc.Decided, len(ev.published), oc.MissingCount, oc.Missing, oc.Foreign)},
		{"no event has two outcomes", oc.MultiCount == 0,
			fmt.Sprintf("%d events with several outcomes %v", oc.MultiCount, oc.Multiple)},
		{"each event ends as its kind requires", oc.UnexpCount == 0,
			fmt.Sprintf("%d unexpected %v", oc.UnexpCount, oc.Unexpected)},
		{"no lead lost", lc.LostCount == 0 && lc.NotRepostedCount == 0,
			fmt.Sprintf("%d reposted without a lead in Marketo %v; %d not reposted %v", lc.LostCount, lc.Lost, lc.NotRepostedCount, lc.NotReposted)},
		{"reposted outcomes carry the lead's Marketo id", lc.IDMismatch == 0,
			fmt.Sprintf("%d mismatches", lc.IDMismatch)},
		{"no 606/615/607 on any call, restart windows included", mc.LimitAnswers == 0 && v[606]+v[615]+v[607] == 0 && mc.CallLogComplete,
			fmt.Sprintf("%d %v; call log complete %v", mc.LimitAnswers, mc.LimitAnswersAt, mc.CallLogComplete)},
		{"no 413/414", v[413]+v[414] == 0, fmt.Sprintf("413=%d 414=%d", v[413], v[414])},
		{"day's count restored from Marketo's usage, within the simulator's bounds", restoredWithin(rc),
			fmt.Sprintf("restored to %d from %q; simulator: %d answered ok before the loss, %d calls through the usage read (%d reads)",
				rc.Count, rc.From, rc.SimOKBeforeLoss, rc.SimCallsThroughRead, rc.UsageReads)},
		{"no lease left after its TTL", ev.leases == 0, fmt.Sprintf("%d leases held", ev.leases)},
		{"client secret absent from every log", !ev.secretInLogs, fmt.Sprintf("found %v", ev.secretInLogs)},
		{"chaos happened during the drain", ch.Kills > 0 && ch.RedisRestarts == 1 && ch.NATSRestarts == max(ev.natsRestarts, 1) && restartsDuring,
			fmt.Sprintf("%d kills, %d Redis and %d NATS restarts, all before the drain ended: %v", ch.Kills, ch.RedisRestarts, ch.NATSRestarts, restartsDuring)},
		{"replicas die only when killed and exit 0 on SIGTERM", len(ch.UnexpectedExits)+len(ch.BadShutdowns) == 0,
			fmt.Sprintf("unexpected exits %v, bad shutdowns %v", ch.UnexpectedExits, ch.BadShutdowns)},
		{"Marketo holds the newest data of every lead", orc.NotNewestCount == 0 && orc.LeadsChecked > 0,
			fmt.Sprintf("%d of %d leads not newest %v; %d out-of-order pairs (older superseded %d, reposted first %d)",
				orc.NotNewestCount, orc.LeadsChecked, orc.NotNewest, orc.Pairs, orc.OlderSuperseded, orc.OlderReposted)},
		{"paused subscription's events parked as expired before aging out", ec.NotExpiredCount == 0 && ec.Expired == ec.Events && ec.LeadCalls == 0,
			fmt.Sprintf("%d of %d expired, %.1f-%.1f s after publication (line %s, max age %s), %d wrong %v; %d lead calls to its Marketo",
				ec.Expired, ec.Events, ec.EarliestSecs, ec.LatestSecs, ec.Line, ec.MaxAge, ec.NotExpiredCount, ec.NotExpired, ec.LeadCalls)},
		{"no Marketo call repeated for records already answered", pc.Unexcused == 0 && pc.LogComplete,
			fmt.Sprintf("%d unexcused of %d repeats %v (%d after an unread answer, %d after a kill or restart); %d records answered, log complete %v",
				pc.Unexcused, pc.Repeats, pc.UnexcusedList, pc.AfterUnread, pc.AfterDisruption, pc.Records, pc.LogComplete)},
	}
	return accounting{oc, lc, mc, rc, orc, ec, pc}, checks
}

// countOutcomes tallies the outcome stream against the published events and
// returns each event's first terminal outcome.
func countOutcomes(ev evidence) (OutcomeCounts, map[string]repost.Outcome) {
	oc := OutcomeCounts{Messages: len(ev.outcomes), ByKind: map[string]int{}}
	first := map[string]repost.Outcome{}
	seen := map[string]int{}
	for _, o := range ev.outcomes {
		if !o.Kind.Terminal() {
			continue
		}
		if _, ok := ev.published[o.EventID]; !ok {
			oc.Foreign++
			continue
		}
		seen[o.EventID]++
		if seen[o.EventID] == 1 {
			first[o.EventID] = o
			oc.ByKind[string(o.Kind)]++
		} else if seen[o.EventID] == 2 {
			oc.MultiCount++
			oc.Multiple = capped(oc.Multiple, o.EventID)
		}
	}
	oc.Decided = len(first)
	for _, id := range sortedIDs(ev.published) {
		o, ok := first[id]
		if !ok {
			oc.MissingCount++
			oc.Missing = capped(oc.Missing, id)
			continue
		}
		kind := ev.published[id].Kind
		if !acceptable(kind, o) {
			oc.UnexpCount++
			oc.Unexpected = capped(oc.Unexpected, fmt.Sprintf("%s %s: %s %s %s", id, kind, o.Kind, o.Code, o.Reason))
		}
	}
	return oc, first
}

// acceptable reports whether o is a right end for an event of kind: the
// expected outcome, or for a Push Lead the 1037 ("already in the program")
// of a repeat whose first call reached Marketo before a replica died.
func acceptable(kind string, o repost.Outcome) bool {
	return o.Kind == expected[kind] && (kind != KindPaused || o.Code == policy.CodeExpired) && (kind != KindPairOlder || o.Code == policy.CodeSuperseded) ||
		repeated1037(kind, o) || pairOlder(kind, o)
}

func repeated1037(kind string, o repost.Outcome) bool {
	return kind == "push" && o.Kind == repost.KindSkipped && o.Code == "1037"
}

func sortedIDs(m map[string]published) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// countLeads checks every reposted event's lead against the simulator.
func countLeads(ev evidence, first map[string]repost.Outcome) LeadCounts {
	lc := LeadCounts{InMarketo: len(ev.leads), RecordsResent: ev.stats.RecordStatus["updated"],
		SameKeyInFlight: ev.stats.SameKeyInFlight}
	byEmail := map[string][]int64{}
	for _, l := range ev.leads {
		e := strings.ToLower(l.Email)
		byEmail[e] = append(byEmail[e], l.ID)
		if len(byEmail[e]) == 2 {
			lc.DuplicateRecords++
		}
	}
	for _, id := range sortedIDs(ev.published) {
		p := ev.published[id]
		o, decided := first[id]
		reached := decided && (o.Kind == repost.KindReposted || repeated1037(p.Kind, o))
		if expected[p.Kind] == repost.KindReposted && !reached {
			lc.NotRepostedCount++
			lc.NotReposted = capped(lc.NotReposted, id)
		}
		if !reached {
			continue
		}
		if o.Kind == repost.KindReposted {
			lc.Reposted++
		} else {
			lc.Repeated1037++
		}
		ids := byEmail[strings.ToLower(p.Email)]
		if len(ids) == 0 {
			lc.LostCount++
			lc.Lost = capped(lc.Lost, id)
			continue
		}
		if o.Kind == repost.KindReposted && !slices.Contains(ids, o.MarketoID) {
			lc.IDMismatch++
		}
	}
	seen := map[string]int{}
	for _, o := range ev.outcomes {
		if seen[o.EventID]++; seen[o.EventID] > 1 {
			lc.DuplicateOutcomes++
		}
	}
	return lc
}

// countCalls counts the simulator's limit answers (606, 615, 607) on every
// call: a restart of Redis (its state lost) or NATS excuses none.
func countCalls(ev evidence) MarketoCounts {
	mc := MarketoCounts{Calls: ev.stats.Calls, Records: ev.stats.Records, ByCode: ev.stats.ByCode,
		Violations: ev.stats.Violations, MaxConcurrent: ev.stats.MaxConcurrent,
		CallLogComplete: len(ev.calls) == ev.stats.Calls}
	okCalls, okRecords := 0, 0
	var times []time.Time
	for _, c := range ev.calls {
		times = append(times, c.At)
		if c.Code == marketotest.CodeOK {
			okCalls++
			okRecords += c.Records
		}
		if c.Code != "606" && c.Code != "615" && c.Code != "607" {
			continue
		}
		mc.LimitAnswers++
		mc.LimitAnswersAt = capped(mc.LimitAnswersAt, c.At.Format("15:04:05.000")+" "+c.Code)
	}
	if okCalls > 0 {
		mc.LeadsPerCall = float64(okRecords) / float64(okCalls)
	}
	mc.MaxCallsInWindow = maxInSpan(times, ev.window)
	return mc
}

// boundRestore adds the simulator's bounds to the restored count: it must
// hold every call Marketo answered before Redis was killed (at least those
// answered ok), and cannot exceed the calls that reached Marketo up to the
// usage read (Marketo's count then, which the restore resumes from).
func boundRestore(ev evidence) RestoreCounts {
	rc := ev.restore
	var killed time.Time
	for _, w := range ev.chaos.Windows {
		if w.What == "redis" {
			killed = w.From
		}
	}
	var read time.Time
	for _, c := range ev.calls {
		if c.Path == marketotest.UsagePath {
			rc.UsageReads++
			if c.Code == marketotest.CodeOK {
				read = c.At
			}
		}
	}
	for _, c := range ev.calls {
		if c.Code == marketotest.CodeOK && c.At.Before(killed) && c.Path != marketotest.UsagePath {
			rc.SimOKBeforeLoss++
		}
		if !read.IsZero() && !c.At.After(read) {
			rc.SimCallsThroughRead++
		}
	}
	return rc
}

func restoredWithin(rc RestoreCounts) bool {
	return !rc.LostAt.IsZero() && strings.HasPrefix(rc.From, "marketo usage") && rc.UsageReads >= 1 &&
		rc.SimOKBeforeLoss <= rc.Count && rc.Count <= rc.SimCallsThroughRead
}

// maxInSpan is the most times falling in any half-open span of length d.
func maxInSpan(ts []time.Time, d time.Duration) int {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= d {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}
