package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
)

// OrderCounts are the out-of-order pairs and the newest-data check.
type OrderCounts struct {
	Pairs           int      `json:"pairs"`
	OlderSuperseded int      `json:"olderSuperseded"` // the older event skipped as superseded
	OlderReposted   int      `json:"olderReposted"`   // the older reached Marketo first; the newer wrote over it
	LeadsChecked    int      `json:"leadsChecked"`    // leads in Marketo compared with their newest event
	NotNewest       []string `json:"notNewest"`       // "email: lastName X, newest event Y (its events' outcomes)" (first 20)
	NotNewestCount  int      `json:"notNewestCount"`
}

// ExpiryCounts are PausedSub's events, held past the shortened max age,
// and how long the main subscription's events waited.
type ExpiryCounts struct {
	Subscription    string   `json:"subscription"`
	MaxAge          string   `json:"maxAge"`
	Line            string   `json:"line"` // maxAge - expireMargin: from this age on an event is parked
	Events          int      `json:"events"`
	Expired         int      `json:"expired"`         // parked expired, with the pause in the reason and a parked entry
	NotExpired      []string `json:"notExpired"`      // "evt: what happened" (first 20)
	NotExpiredCount int      `json:"notExpiredCount"` //
	EarliestSecs    float64  `json:"earliestSeconds"` // soonest parked after the publication started
	LatestSecs      float64  `json:"latestSeconds"`   // latest; under maxAge, or the event aged out first
	LeadCalls       int      `json:"leadCalls"`       // Sync/Push calls PausedSub's simulator received
	MainExpired     int      `json:"mainExpired"`     // main events parked as expired (each also unexpected)
	MainMaxWaitSecs float64  `json:"mainMaxWaitSeconds"`
}

// RepeatCounts come from the simulator's answered-records log: a record
// (the same event's data, by digest) answered by Marketo more than once.
type RepeatCounts struct {
	Records         int      `json:"records"`         // answered lead records
	LogComplete     bool     `json:"logComplete"`     // one per record of every processed call
	Repeats         int      `json:"repeats"`         // answers of a record after its first
	AfterUnread     int      `json:"afterUnread"`     // the earlier answer never reached the caller: a retry
	AfterDisruption int      `json:"afterDisruption"` // a replica SIGKILLed, or NATS/Redis restarting, in between
	Unexcused       int      `json:"unexcused"`
	UnexcusedList   []string `json:"unexcusedList"` // "lookup: calls n1 at t1, n2 at t2" (first 20)
}

// pairOlder reports whether o is a right end for the older event of a pair.
func pairOlder(kind string, o repost.Outcome) bool {
	return kind == KindPairOlder && (o.Kind == repost.KindReposted ||
		o.Kind == repost.KindSkipped && o.Code == policy.CodeSuperseded)
}

// countOrder checks that Marketo holds, for every lead it has, the data of
// the lead's newest event among those that were to reach it.
func countOrder(ev evidence, first map[string]repost.Outcome) OrderCounts {
	var oc OrderCounts
	newest := map[string]published{}
	ids := map[string][]string{} // email → its events
	var redisLost time.Time
	for _, w := range ev.chaos.Windows {
		if w.What == "redis" {
			redisLost = w.From
		}
	}
	for _, id := range sortedIDs(ev.published) {
		p := ev.published[id]
		if p.Email != "" {
			ids[strings.ToLower(p.Email)] = append(ids[strings.ToLower(p.Email)], id)
		}
		if p.Kind == KindPairOlder {
			oc.Pairs++
			switch o := first[id]; {
			case o.Kind == repost.KindReposted:
				oc.OlderReposted++
			case o.Kind == repost.KindSkipped && o.Code == policy.CodeSuperseded:
				oc.OlderSuperseded++
			}
		}
		if p.Email == "" || (expected[p.Kind] != repost.KindReposted && p.Kind != KindPairOlder) {
			continue
		}
		key := strings.ToLower(p.Email)
		if n, ok := newest[key]; !ok || p.DataAt.After(n.DataAt) {
			newest[key] = p
		}
	}
	for _, l := range ev.leads {
		n, ok := newest[strings.ToLower(l.Email)]
		if !ok {
			continue
		}
		oc.LeadsChecked++
		if l.LastName == n.LastName {
			continue
		}
		// Which event wrote the data Marketo kept, and when did each end?
		var events []string
		for _, id := range ids[strings.ToLower(l.Email)] {
			p, o := ev.published[id], first[id]
			events = append(events, fmt.Sprintf("%s %s %s %s at %s", id, p.Kind, o.Kind, o.Code, o.At.Format("15:04:05.000")))
		}
		if !redisLost.IsZero() {
			events = append(events, "Redis lost its state at "+redisLost.Format("15:04:05.000"))
		}
		line := fmt.Sprintf("%s: lastName %q, newest event %q (%s)", l.Email, l.LastName, n.LastName, strings.Join(events, "; "))
		oc.NotNewestCount++
		oc.NotNewest = capped(oc.NotNewest, line)
	}
	return oc
}

// countExpiry checks PausedSub's events: each parked as expired (the
// reason naming the pause, the entry in POSTOUT_PARKED), not before it
// reached the line and before it aged out; and no lead call to its
// simulator. It also measures the main events' longest wait.
func countExpiry(ev evidence, first map[string]repost.Outcome) ExpiryCounts {
	ec := ExpiryCounts{Subscription: PausedSub, MaxAge: ev.maxAge.String(), Line: (ev.maxAge - ev.margin).String()}
	line := ev.maxAge - ev.margin
	for _, id := range sortedIDs(ev.published) {
		p := ev.published[id]
		o, decided := first[id]
		if p.Kind != KindPaused {
			if decided && !p.PubAt.IsZero() {
				ec.MainMaxWaitSecs = max(ec.MainMaxWaitSecs, o.At.Sub(p.PubAt).Seconds())
			}
			if decided && o.Kind == repost.KindParked && o.Code == policy.CodeExpired {
				ec.MainExpired++
			}
			continue
		}
		ec.Events++
		age := o.At.Sub(p.PubAt)
		var wrong string
		switch {
		case !decided:
			wrong = "no outcome"
		case o.Kind != repost.KindParked || o.Code != policy.CodeExpired:
			wrong = fmt.Sprintf("%s %s", o.Kind, o.Code)
		case !strings.Contains(o.Reason, "paused by chaos"):
			wrong = "reason without the pause: " + o.Reason
		case ev.parked[id] != string(policy.CodeExpired):
			wrong = fmt.Sprintf("parked entry %q", ev.parked[id])
		case age < line-500*time.Millisecond:
			wrong = fmt.Sprintf("parked %.1f s after publication, before the line", age.Seconds())
		case age >= ev.maxAge:
			wrong = fmt.Sprintf("parked %.1f s after publication, past the max age", age.Seconds())
		}
		if decided {
			if ec.Events == 1 || age.Seconds() < ec.EarliestSecs {
				ec.EarliestSecs = age.Seconds()
			}
			ec.LatestSecs = max(ec.LatestSecs, age.Seconds())
		}
		if wrong != "" {
			ec.NotExpiredCount++
			ec.NotExpired = capped(ec.NotExpired, id+": "+wrong)
			continue
		}
		ec.Expired++
	}
	for _, c := range ev.pausedCalls {
		if c.Path == marketotest.SyncLeadsPath || c.Path == marketotest.PushLeadPath {
			ec.LeadCalls++
		}
	}
	return ec
}

// disruption is a span in which a replica could lose what Marketo had
// answered it: a SIGKILL (an instant) or a restart window.
type disruption struct{ from, to time.Time }

// countRepeats finds records answered again. A repeat is a legitimate
// retry when the caller could not read the earlier answer (a dropped or
// truncated one), or when a replica was SIGKILLed or NATS or Redis was
// restarting between the two answers (at-least-once: the replica holding
// the answer died, or could not record it, before acknowledging). Refused
// calls (604, 611, 713, 502, 601/602, 606/615/607, a dropped connection)
// answer no record and are not in the log: retrying after them is never a
// repeat. Any other repeat is a call repeated for records already answered.
func countRepeats(ev evidence) RepeatCounts {
	rc := RepeatCounts{Records: len(ev.answered), LogComplete: len(ev.answered) == ev.stats.Records}
	var ds []disruption
	for _, k := range ev.chaos.KillTimes {
		ds = append(ds, disruption{k, k})
	}
	for _, w := range ev.chaos.Windows {
		ds = append(ds, disruption{w.From, w.To})
	}
	byDigest := map[string][]marketotest.Answered{}
	for _, a := range ev.answered {
		byDigest[a.Digest] = append(byDigest[a.Digest], a)
	}
	digests := make([]string, 0, len(byDigest))
	for d := range byDigest {
		digests = append(digests, d)
	}
	sort.Strings(digests)
	for _, d := range digests {
		as := byDigest[d]
		sort.SliceStable(as, func(i, j int) bool { return as[i].Call < as[j].Call })
		for j := 1; j < len(as); j++ {
			prev, cur := as[j-1], as[j]
			rc.Repeats++
			switch {
			case prev.Undelivered:
				rc.AfterUnread++
			case disrupted(ds, prev.At, cur.At):
				rc.AfterDisruption++
			default:
				rc.Unexcused++
				rc.UnexcusedList = capped(rc.UnexcusedList, fmt.Sprintf("%s: calls %d at %s and %d at %s", cur.Lookup,
					prev.Call, prev.At.Format("15:04:05.000"), cur.Call, cur.At.Format("15:04:05.000")))
			}
		}
	}
	return rc
}

// disrupted reports whether a disruption falls between from and to.
func disrupted(ds []disruption, from, to time.Time) bool {
	for _, d := range ds {
		if d.from.Before(to) && d.to.After(from) || !d.from.Before(from) && !d.from.After(to) {
			return true
		}
	}
	return false
}
