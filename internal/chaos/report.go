package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the accounting of one run: parameters, what the chaos did, and
// the numbers behind every check. Its JSON form is what `make bench` reads.
type Report struct {
	Params      Params    `json:"params"`
	NATSVersion string    `json:"natsServerVersion"`
	Started     time.Time `json:"started"`
	DrainSecs   float64   `json:"drainSeconds"` // first publication to the last outcome
	Dir         string    `json:"dir"`

	Published int            `json:"published"`
	ByKind    map[string]int `json:"publishedByKind"`
	Chaos     ChaosLog       `json:"chaos"`
	Outcomes  OutcomeCounts  `json:"outcomes"`
	Leads     LeadCounts     `json:"leads"`
	Marketo   MarketoCounts  `json:"marketo"`
	Limits    LimitCounts    `json:"limits"`
	Restore   RestoreCounts  `json:"restore"`
	Order     OrderCounts    `json:"order"`
	Expiry    ExpiryCounts   `json:"expiry"`
	Repeats   RepeatCounts   `json:"repeats"`
	Checks    []Check        `json:"checks"`
}

// RestoreCounts are the day's count restored after Redis lost its state
// (from Redis after the drain) and the simulator's bounds on it (its call
// log): at least the calls answered ok before the loss, at most the calls
// that reached it up to the usage read.
type RestoreCounts struct {
	LostAt              time.Time `json:"lostAt,omitzero"`
	Count               int       `json:"count"`
	From                string    `json:"from"`
	RestoredAt          time.Time `json:"restoredAt,omitzero"`
	UsageReads          int       `json:"usageReads"`
	SimOKBeforeLoss     int       `json:"simOkBeforeLoss"`
	SimCallsThroughRead int       `json:"simCallsThroughRead"`
}

// Params are the options of the run that shape its numbers.
type Params struct {
	Events      int     `json:"events"`
	Workers     int     `json:"workers"`
	MixFraction float64 `json:"mixFraction"`
	KillEvery   string  `json:"killEvery"`
	ChaosFor    string  `json:"chaosFor"`
	RedisAt     string  `json:"redisAt"`
	NATSAt      string  `json:"natsAt"`
	NATSSignal  string  `json:"natsSignal"`
	Grace       string  `json:"restartGrace"`
	Seed        uint64  `json:"seed"`
	FaultRate   float64 `json:"faultRate"`
	AckWait     string  `json:"ackWait"`
	LeaseTTL    string  `json:"leaseTTL"`
	BatchSize   int     `json:"batchSize"`
	Limits      string  `json:"limits"`
	Short       bool    `json:"short"`
	Cluster     bool    `json:"cluster"` // 3 nats-server, R3; leaders killed instead of one NATS restart
}

// ChaosLog is what the harness did, when.
type ChaosLog struct {
	Kills           int         `json:"kills"`
	KillTimes       []time.Time `json:"killTimes"` // each SIGKILL of a replica, and each death found unasked
	RedisRestarts   int         `json:"redisRestarts"`
	NATSRestarts    int         `json:"natsRestarts"`
	LeaderKills     []string    `json:"leaderKills,omitempty"` // -cluster: what each stopped server led
	PublishRetries  int         `json:"publishRetries"`
	UnexpectedExits []string    `json:"unexpectedExits"` // replicas that died without being killed
	BadShutdowns    []string    `json:"badShutdowns"`    // replicas that did not exit 0 on SIGTERM
	Windows         []Window    `json:"restartWindows"`
	Timeline        []Moment    `json:"timeline"`
	DrainedAt       *time.Time  `json:"drainedAt,omitempty"`
}

// Window is a restart: from its stop until Grace after its start. It
// excuses nothing (every call counts); the report shows it.
type Window struct {
	What string    `json:"what"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Moment is one line of the timeline.
type Moment struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// OutcomeCounts come from the outcome stream.
type OutcomeCounts struct {
	Messages     int            `json:"messages"`     // outcome messages in the stream
	ByKind       map[string]int `json:"byKind"`       // terminal outcomes by kind
	Decided      int            `json:"decided"`      // events with a terminal outcome
	Missing      []string       `json:"missing"`      // events without one (first 20)
	MissingCount int            `json:"missingCount"` //
	Multiple     []string       `json:"multiple"`     // events with more than one (first 20)
	MultiCount   int            `json:"multipleCount"`
	Unexpected   []string       `json:"unexpected"` // "evt kind: got outcome code" (first 20)
	UnexpCount   int            `json:"unexpectedCount"`
	Foreign      int            `json:"foreign"` // outcomes of eventIds never published
}

// LeadCounts compare reposted outcomes with the simulator's leads.
type LeadCounts struct {
	Reposted          int      `json:"reposted"`
	Repeated1037      int      `json:"repeated1037"`      // Push Lead repeats answered 1037 (lead already in the program), outcome skipped
	InMarketo         int      `json:"inMarketo"`         // leads the simulator holds
	Lost              []string `json:"lost"`              // reposted, but no lead (first 20)
	LostCount         int      `json:"lostCount"`         //
	NotReposted       []string `json:"notReposted"`       // must be reposted, was not (first 20)
	NotRepostedCount  int      `json:"notRepostedCount"`  //
	IDMismatch        int      `json:"idMismatch"`        // outcome marketoId differs from the lead's id
	DuplicateRecords  int      `json:"duplicateRecords"`  // leads sharing one email (created twice)
	RecordsResent     int      `json:"recordsResent"`     // records answered "updated": a lead sent again
	SameKeyInFlight   int      `json:"sameKeyInFlight"`   // records whose email was in another call in flight
	DuplicateOutcomes int      `json:"duplicateOutcomes"` // extra outcome messages for one event
}

// MarketoCounts come from the simulator.
type MarketoCounts struct {
	Calls            int            `json:"calls"`
	Records          int            `json:"records"`
	LeadsPerCall     float64        `json:"leadsPerCall"` // records of answered lead calls / those calls
	ByCode           map[string]int `json:"byCode"`
	Violations       map[int]int    `json:"violations"`
	LimitAnswers     int            `json:"limitAnswers"`   // calls answered 606, 615 or 607, restart windows included
	LimitAnswersAt   []string       `json:"limitAnswersAt"` // "time code" of those (first 20)
	MaxConcurrent    int            `json:"maxConcurrent"`
	MaxCallsInWindow int            `json:"maxCallsInWindow"` // most calls admitted in any window-long span
	CallLogComplete  bool           `json:"callLogComplete"`
}

// LimitCounts come from Redis after the run.
type LimitCounts struct {
	LeasesAfterTTL int            `json:"leasesAfterTTL"`
	WaitedUntil    time.Time      `json:"waitedUntil"`
	KeysLeft       map[string]int `json:"keysLeft"` // repost:{sub}:<kind> keys by kind
	SecretInLogs   bool           `json:"secretInLogs"`
}

// Check is one pass/fail line.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return len(r.Checks) > 0
}

// WriteJSON writes the report, indented, to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteTable prints the checks and the main numbers.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := r.Params
	fmt.Fprintf(tw, "chaos run\t%d events (batches of %d), %d replicas, kill every %s for %s, Redis at %s, NATS (%s) at %s, faults %.0f%%, seed %d, nats-server %s\n",
		p.Events, p.BatchSize, p.Workers, p.KillEvery, p.ChaosFor, p.RedisAt, p.NATSSignal, p.NATSAt, p.FaultRate*100, p.Seed, r.NATSVersion)
	fmt.Fprintf(tw, "drain\t%.1f s; kills %d, Redis restarts %d, NATS restarts %d, publish retries %d\n",
		r.DrainSecs, r.Chaos.Kills, r.Chaos.RedisRestarts, r.Chaos.NATSRestarts, r.Chaos.PublishRetries)
	if p.Cluster {
		fmt.Fprintf(tw, "cluster\t%d nats-server, R%d; leaders killed (%s): %s\n", ClusterSize, ClusterSize, p.NATSSignal, strings.Join(r.Chaos.LeaderKills, ", "))
	}
	fmt.Fprintf(tw, "outcomes\t%s; decided %d of %d, missing %d, multiple %d, unexpected %d\n",
		kv(r.Outcomes.ByKind), r.Outcomes.Decided, r.Published, r.Outcomes.MissingCount, r.Outcomes.MultiCount, r.Outcomes.UnexpCount)
	fmt.Fprintf(tw, "leads\treposted %d (+%d push repeats skipped 1037), in Marketo %d, lost %d, not reposted %d, resent %d, duplicate records %d, same key in flight %d, duplicate outcomes %d\n",
		r.Leads.Reposted, r.Leads.Repeated1037, r.Leads.InMarketo, r.Leads.LostCount, r.Leads.NotRepostedCount, r.Leads.RecordsResent,
		r.Leads.DuplicateRecords, r.Leads.SameKeyInFlight, r.Leads.DuplicateOutcomes)
	fmt.Fprintf(tw, "marketo\t%d calls, %.1f leads/call, max %d in flight, max %d calls per window; %s\n",
		r.Marketo.Calls, r.Marketo.LeadsPerCall, r.Marketo.MaxConcurrent, r.Marketo.MaxCallsInWindow, kv(r.Marketo.ByCode))
	fmt.Fprintf(tw, "606/615/607\t%d, restart windows included\n", r.Marketo.LimitAnswers)
	fmt.Fprintf(tw, "restored count\t%d from %s (simulator: %d ok before the loss, %d calls through the read)\n",
		r.Restore.Count, r.Restore.From, r.Restore.SimOKBeforeLoss, r.Restore.SimCallsThroughRead)
	fmt.Fprintf(tw, "redis after TTL\tleases %d; keys %s\n", r.Limits.LeasesAfterTTL, kv(r.Limits.KeysLeft))
	o := r.Order
	fmt.Fprintf(tw, "out-of-order pairs\t%d: older superseded %d, older reposted first %d; leads checked for their newest data %d, not newest %d\n",
		o.Pairs, o.OlderSuperseded, o.OlderReposted, o.LeadsChecked, o.NotNewestCount)
	e := r.Expiry
	fmt.Fprintf(tw, "paused past max age\t%s: %d of %d parked expired, %.1f-%.1f s after publication (line %s, max age %s), %d lead calls; main: longest wait %.1f s, %d expired\n",
		e.Subscription, e.Expired, e.Events, e.EarliestSecs, e.LatestSecs, e.Line, e.MaxAge, e.LeadCalls, e.MainMaxWaitSecs, e.MainExpired)
	p2 := r.Repeats
	fmt.Fprintf(tw, "answered records\t%d; answered again %d (after an unread answer %d, after a kill or restart %d), unexcused %d\n",
		p2.Records, p2.Repeats, p2.AfterUnread, p2.AfterDisruption, p2.Unexcused)
	fmt.Fprintln(tw, "\t")
	for _, c := range r.Checks {
		mark := "PASS"
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, c.Name, c.Detail)
	}
	_ = tw.Flush()
}

func kv[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
	}
	return strings.Join(parts, " ")
}
