package marketotest

import (
	"maps"
	"time"
)

// Code keys of Stats.ByCode besides Marketo and HTTP numbers.
const (
	CodeOK = "ok" // success:true, whatever the records' statuses
)

// Stats are counters a test can assert on. Maps are copies.
type Stats struct {
	Calls         int            // REST calls received (identity excluded)
	IdentityCalls int            // identity calls, answered or refused
	IdentityFails int            // identity calls answered 401 or 400
	Records       int            // input records of calls that were processed
	ByCode        map[string]int // REST answers: "ok", "606", "413", "502", "html", "truncated", "drop", ...
	RecordStatus  map[string]int // created, updated, skipped
	ReasonCodes   map[string]int // record-level reason codes of skipped records
	// Violations counts the calls that broke a limit, by code: 606, 607,
	// 615, 413 and 414. A well-behaved client keeps it empty.
	Violations      map[int]int
	QueryTokenUses  int // calls carrying access_token in the query string
	SameKeyInFlight int // records whose lookup value was in another call in flight
	MaxConcurrent   int // most REST calls in flight at once
	InFlight        int // REST calls in flight now
}

// Call is one REST call as the call log keeps it.
type Call struct {
	At       time.Time     // arrival, by the injected clock
	Path     string        // URL path
	Records  int           // input records, when the body was parsed
	Code     string        // as in Stats.ByCode
	InFlight int           // calls in flight when it was admitted (itself included), 0 if refused
	Duration time.Duration // wall time spent answering
}

type counters struct {
	calls, identityCalls, identityFails, records int
	byCode, recordStatus, reasonCodes            map[string]int
	violations                                   map[int]int
	queryTokenUses, sameKeyInFlight              int
	maxConcurrent                                int
	log                                          []Call
	answered                                     []Answered
}

func newCounters() counters {
	return counters{
		byCode: map[string]int{}, recordStatus: map[string]int{},
		reasonCodes: map[string]int{}, violations: map[int]int{},
	}
}

// Stats returns a snapshot of the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.counters
	return Stats{
		Calls: c.calls, IdentityCalls: c.identityCalls, IdentityFails: c.identityFails,
		Records: c.records, ByCode: maps.Clone(c.byCode),
		RecordStatus: maps.Clone(c.recordStatus), ReasonCodes: maps.Clone(c.reasonCodes),
		Violations: maps.Clone(c.violations), QueryTokenUses: c.queryTokenUses,
		SameKeyInFlight: c.sameKeyInFlight, MaxConcurrent: c.maxConcurrent,
		InFlight: s.lim.inflight,
	}
}

// ResetStats zeroes the counters and empties the call log and the
// answered-records log. Leads, tokens and
// the limits' state are kept.
func (s *Sim) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters = newCounters()
}

// CallLog returns the last calls (at most Options.CallLogSize), oldest first.
func (s *Sim) CallLog() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.counters.log...)
}

// finish records a REST call; it runs once per call, with s.mu held.
func (s *Sim) finishLocked(c *callState) {
	k := &s.counters
	k.calls++
	c.seq = k.calls
	s.logAnsweredLocked(c, c.seq)
	k.byCode[c.code]++
	if c.processed {
		k.records += c.records
	}
	switch c.code {
	case "606", "607", "615", "413", "414":
		k.violations[atoi(c.code)]++
	}
	if c.queryToken {
		k.queryTokenUses++
	}
	if len(k.log) >= s.opts.CallLogSize {
		// Drop the older half at once: amortized O(1) per call.
		n := copy(k.log, k.log[len(k.log)/2:])
		k.log = k.log[:n]
	}
	k.log = append(k.log, Call{
		At: c.at, Path: c.path, Records: c.records, Code: c.code,
		InFlight: c.inflight, Duration: time.Since(c.wallStart),
	})
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}
