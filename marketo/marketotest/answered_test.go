package marketotest

import (
	"testing"
)

// The answered-records log keeps each processed record of a lead call with
// its call number, lookup value, a digest of what was sent, and the result;
// calls refused before processing (a 604 fault here) leave nothing; the same
// record sent again has the same digest, other data of the lead another.
func TestAnsweredLog(t *testing.T) {
	s := mustServer(t, Options{DisableLimits: true, AnsweredLogSize: 100})
	tok := mustToken(t, s)
	syncLeads(t, s, tok, nil, rec("A@example.com", "lastName", "Old"), rec("b@example.com", "role", "CTO"))
	syncLeads(t, s, tok, nil, rec("a@example.com ", "lastName", "New"))
	s.SetFaults(Faults{Rate604: 1})
	if r := syncLeads(t, s, tok, nil, rec("c@example.com")); r.code() != "604" {
		t.Fatalf("fault call answered %s", r.code())
	}
	s.SetFaults(Faults{})
	syncLeads(t, s, tok, nil, rec("A@example.com", "lastName", "Old"))

	log := s.AnsweredLog()
	if len(log) != 4 {
		t.Fatalf("answered log holds %d records, want 4: %+v", len(log), log)
	}
	want := []struct {
		call           int
		lookup, status string
		code           string
	}{{1, "a@example.com", "created", ""}, {1, "b@example.com", "skipped", "1006"}, {2, "a@example.com", "updated", ""}, {4, "a@example.com", "updated", ""}}
	for i, w := range want {
		a := log[i]
		if a.Call != w.call || a.Lookup != w.lookup || a.Status != w.status || a.Code != w.code || a.Path != SyncLeadsPath || a.Undelivered {
			t.Errorf("log[%d] = %+v, want call %d %s %s %s", i, a, w.call, w.lookup, w.status, w.code)
		}
	}
	if log[0].LeadID == 0 || log[0].LeadID != log[2].LeadID || log[1].LeadID != 0 {
		t.Errorf("lead ids %d %d %d: want the same lead written twice and none for the skipped record", log[0].LeadID, log[2].LeadID, log[1].LeadID)
	}
	if log[0].Digest != log[3].Digest {
		t.Errorf("the same record sent twice has digests %s and %s", log[0].Digest, log[3].Digest)
	}
	if log[0].Digest == log[2].Digest {
		t.Errorf("other data of the lead has the same digest %s", log[0].Digest)
	}
	var served []Answered
	adminGet(t, s.AdminHandler(), "/_sim/answered", &served)
	if len(served) != 4 || served[3].Digest != log[3].Digest || served[3].Call != 4 || !served[3].At.Equal(log[3].At) {
		t.Errorf("GET /_sim/answered = %+v, want the log %+v", served, log)
	}
	s.ResetStats()
	if n := len(s.AnsweredLog()); n != 0 {
		t.Errorf("after ResetStats the log holds %d records", n)
	}
}

// Off by default; when full, the older records go first.
func TestAnsweredLogSize(t *testing.T) {
	off := mustServer(t, Options{DisableLimits: true})
	syncLeads(t, off, mustToken(t, off), nil, rec("a@example.com"))
	if log := off.AnsweredLog(); log != nil {
		t.Errorf("log without AnsweredLogSize: %+v", log)
	}
	s := mustServer(t, Options{DisableLimits: true, AnsweredLogSize: 4})
	tok := mustToken(t, s)
	for range 5 {
		syncLeads(t, s, tok, nil, rec("a@example.com"), rec("b@example.com"))
	}
	log := s.AnsweredLog()
	if len(log) > 4 || len(log) == 0 || log[len(log)-1].Call != 5 {
		t.Fatalf("log of size 4 after 5 calls of 2 records: %+v", log)
	}
	for i := 1; i < len(log); i++ {
		if log[i].Call < log[i-1].Call {
			t.Errorf("log out of order: %+v", log)
		}
	}
}

func TestAnsweredLogSizeValidate(t *testing.T) {
	if err := (Options{AnsweredLogSize: -1}).Validate(); err == nil {
		t.Error("a negative AnsweredLogSize is accepted")
	}
}
