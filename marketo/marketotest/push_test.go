package marketotest

import (
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func pushLead(t *testing.T, s *Server, tok string, params map[string]any, input ...map[string]any) reply {
	t.Helper()
	body := map[string]any{"input": input}
	for k, v := range params {
		body[k] = v
	}
	return mustDo(t, s, call{path: PushLeadPath, token: tok, body: mustJSON(t, body)})
}

func TestPushLead(t *testing.T) {
	s := mustServer(t, Options{Programs: map[string][]string{"Webinar": {"Invited", "Registered", "Attended"}}})
	tok := mustToken(t, s)
	prog := func(status string) map[string]any {
		return map[string]any{"programName": "Webinar", "programStatus": status, "source": "DAP", "reason": "repost"}
	}
	r := pushLead(t, s, tok, prog("Registered"), rec("p1@example.com", "firstName", "Ann"), rec("p2@example.com", "role", "x"))
	checkResults(t, r, []wantResult{{status: "created"}, {"skipped", "1006", "Field 'role' not found"}})
	id := r.Env.Result[0].ID
	if st, ok := s.Membership(id, "Webinar"); !ok || st != "Registered" {
		t.Fatalf("membership: %q %v", st, ok)
	}
	tests := []struct {
		name       string
		params     map[string]any
		want       wantResult
		wantStatus string
	}{
		{"same status again", prog("Registered"), wantResult{"skipped", "1037", "Lead skipped"}, "Registered"},
		{"earlier status", prog("Invited"), wantResult{"skipped", "1037", "Lead skipped"}, "Registered"},
		{"later status", prog("Attended"), wantResult{status: "updated"}, "Attended"},
		{"no status keeps it", map[string]any{"programName": "Webinar"}, wantResult{status: "updated"}, "Attended"},
		{"unknown status", prog("Graduated"), wantResult{"skipped", "1025", "Program status not found"}, "Attended"},
		{"unknown program", map[string]any{"programName": "Nope"}, wantResult{"skipped", "1013", "Object not found"}, "Attended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := pushLead(t, s, tok, tt.params, rec("p1@example.com"))
			checkResults(t, r, []wantResult{tt.want})
			if st, _ := s.Membership(id, "Webinar"); st != tt.wantStatus {
				t.Fatalf("status %q, want %q", st, tt.wantStatus)
			}
		})
	}
	if s.LeadCount() != 1 {
		t.Fatalf("LeadCount = %d, want 1 (push upserts)", s.LeadCount())
	}
}

func TestDefaultProgram(t *testing.T) {
	s := mustServer(t, Options{})
	r := pushLead(t, s, mustToken(t, s), map[string]any{"programName": DefaultProgram}, rec("d@example.com"))
	checkResults(t, r, []wantResult{{status: "created"}})
	if st, ok := s.Membership(r.Env.Result[0].ID, DefaultProgram); !ok || st != DefaultPrograms()[DefaultProgram][0] {
		t.Fatalf("membership %q %v", st, ok)
	}
}

// Two calls in flight with the same new key both create, as Marketo does;
// the duplicates then make updates ambiguous (1007).
func TestSameKeyInFlightCreatesDuplicates(t *testing.T) {
	s := mustServer(t, Options{})
	tok := mustToken(t, s)
	s.Pause()
	var wg sync.WaitGroup
	replies := make([]reply, 2)
	for i := range 2 {
		wg.Go(func() { replies[i] = syncLeads(t, s, tok, nil, rec("race@example.com")) })
	}
	// Held, not InFlight: a call is in flight from its admission, before
	// its lookup values are registered; resumed then, the first call could
	// end before the second registers (seen in CI: one lead, "updated").
	checkFor(t, 10*time.Second, func() bool { return s.Held() == 2 }, "2 calls held with their keys in flight")
	s.Resume()
	wg.Wait()
	for _, r := range replies {
		checkResults(t, r, []wantResult{{status: "created"}})
	}
	if n := len(s.LeadsBy("email", "race@example.com")); n != 2 || s.Stats().SameKeyInFlight != 1 {
		t.Fatalf("%d leads, SameKeyInFlight %d; want 2 and 1", n, s.Stats().SameKeyInFlight)
	}
	r := syncLeads(t, s, tok, nil, rec("race@example.com"))
	checkResults(t, r, []wantResult{{"skipped", "1007", "Multiple leads match the lookup criteria"}})
}

func TestGetLeadsByFilterType(t *testing.T) {
	s := mustServer(t, Options{})
	tok := mustToken(t, s)
	syncLeads(t, s, tok, nil, rec("g1@example.com", "firstName", "Ann"), rec("g2@example.com", "company", "Acme"))
	q := url.Values{"filterType": {"email"}, "filterValues": {"g1@example.com,G2@example.com,none@example.com"}, "fields": {"email,company"}}
	get := mustDo(t, s, call{method: "GET", path: SyncLeadsPath + "?" + q.Encode(), token: tok})
	post := mustDo(t, s, call{path: SyncLeadsPath + "?_method=GET", token: tok,
		ctype: "application/x-www-form-urlencoded", body: []byte(q.Encode())})
	for _, r := range []reply{get, post} {
		body := string(r.Body)
		if r.code() != CodeOK || !strings.Contains(body, `"company":"Acme"`) || !strings.Contains(body, `"email":"g1@example.com"`) ||
			strings.Contains(body, "firstName") || strings.Count(body, `"id":`) != 2 {
			t.Fatalf("get leads: %s", body)
		}
	}
	if got := mustDo(t, s, call{path: SyncLeadsPath + "?_method=GET", token: tok, body: []byte(q.Encode())}).code(); got != "612" {
		t.Fatalf("form sent as JSON: %s, want 612", got)
	}
	if got := mustDo(t, s, call{method: "GET", path: SyncLeadsPath + "?filterType=role&filterValues=x", token: tok}).code(); got != "1003" {
		t.Fatalf("unknown filterType: %s, want 1003", got)
	}
}
