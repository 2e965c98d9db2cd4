package marketotest

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Answered is one input record of a Sync Leads or Push Lead call that the
// simulator processed and answered (created, updated or skipped), as the
// answered-records log keeps it when Options.AnsweredLogSize is set. Calls
// refused before processing (faults such as 604 or a dropped connection,
// 601/602, 606/615/607, 413) leave no record here: their records were not
// answered. A harness reads it to tell a legitimate retry from a call
// repeated for records Marketo had already answered, and to follow the
// writes of one lead in order.
type Answered struct {
	Call   int       `json:"call"`   // the call's number: the n-th REST call the simulator received
	At     time.Time `json:"at"`     // the call's arrival, by the injected clock
	Path   string    `json:"path"`   // SyncLeadsPath or PushLeadPath
	Lookup string    `json:"lookup"` // the record's lookup value as Marketo compares it; "" when it has none
	// Digest identifies the record as sent: a hash of the call's
	// parameters (path, action, lookup field, partition, program, status)
	// and the record's fields, whatever their order. The same event sent
	// twice has the same digest; two events of one lead with different
	// data do not.
	Digest string `json:"digest"`
	Status string `json:"status"`           // created, updated or skipped
	Code   string `json:"code,omitempty"`   // the reason code of a skipped record
	LeadID int64  `json:"leadId,omitempty"` // the lead written; 0 when skipped
	// Undelivered is set when the caller could not read the answer (it
	// was gone before the answer was written, or the answer was a
	// truncated fault): sending the record again is a retry, not a repeat.
	Undelivered bool `json:"undelivered,omitempty"`
}

// AnsweredLog returns the answered records (at most
// Options.AnsweredLogSize, the most recent), oldest first; nil when the log
// is off.
func (s *Sim) AnsweredLog() []Answered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.counters.answered)
}

// noteAnswered keeps the call's answered records until the call is logged.
func (s *Sim) noteAnswered(c *callState, req *leadsRequest, rec record, res Result) {
	if s.opts.AnsweredLogSize <= 0 {
		return
	}
	a := Answered{At: c.at, Path: c.path, Digest: digest(req, rec), Status: res.Status, LeadID: res.ID}
	if k := lookupKey(req.LookupField, rec); k != "" {
		_, a.Lookup, _ = strings.Cut(k, "\x00")
	}
	if len(res.Reasons) > 0 {
		a.Code = res.Reasons[0].Code
	}
	a.Undelivered = c.code == string(FaultTruncated) // processed, but the answer is cut in half
	c.answered = append(c.answered, a)
}

// logAnsweredLocked appends the call's answered records, numbered n, to the
// log, dropping the older half when it is full.
func (s *Sim) logAnsweredLocked(c *callState, n int) {
	if len(c.answered) == 0 {
		return
	}
	k := &s.counters
	if len(k.answered)+len(c.answered) > s.opts.AnsweredLogSize {
		keep := max(0, min(len(k.answered), s.opts.AnsweredLogSize-len(c.answered))/2)
		k.answered = k.answered[:copy(k.answered, k.answered[len(k.answered)-keep:])]
	}
	for _, a := range c.answered {
		a.Call = n
		k.answered = append(k.answered, a)
	}
}

// markUndelivered flags the answered records of call n: its answer did not
// reach the client.
func (s *Sim) markUndelivered(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	log := s.counters.answered
	for i := len(log) - 1; i >= 0 && log[i].Call >= n; i-- {
		if log[i].Call == n {
			log[i].Undelivered = true
		}
	}
}

// digest hashes the call's parameters and the record's fields, sorted by
// name (the last of duplicate names wins, as in a JSON decoder).
func digest(req *leadsRequest, rec record) string {
	h := sha256.New()
	for _, p := range []string{req.ep.path(), req.Action, req.LookupField, req.partition, req.ProgramName, req.ProgramStatus} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	if rec.bad {
		h.Write([]byte("\x01bad"))
	}
	fields := map[string]string{}
	for _, f := range rec.fields {
		fields[f.key] = display(f.val)
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write([]byte(fields[n]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (ep endpoint) path() string {
	if ep == epPush {
		return PushLeadPath
	}
	return SyncLeadsPath
}
