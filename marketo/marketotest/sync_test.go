package marketotest

import (
	"net/http"
	"strings"
	"testing"
)

// wantResult is an expected record-level result: a status, and for skipped
// records the reason code and message.
type wantResult struct {
	status, code, message string
}

func checkResults(t *testing.T, r reply, want []wantResult) {
	t.Helper()
	if r.code() != CodeOK {
		t.Fatalf("call failed: %s %s", r.code(), r.Body)
	}
	if len(r.Env.Result) != len(want) {
		t.Fatalf("got %d results, want %d: %s", len(r.Env.Result), len(want), r.Body)
	}
	for i, w := range want {
		got := r.Env.Result[i]
		if got.Status != w.status {
			t.Errorf("result[%d].status = %q, want %q (%s)", i, got.Status, w.status, r.Body)
			continue
		}
		switch w.status {
		case "skipped":
			if got.ID != 0 || len(got.Reasons) != 1 || got.Reasons[0].Code != w.code || got.Reasons[0].Message != w.message {
				t.Errorf("result[%d] = %+v, want %s %q", i, got, w.code, w.message)
			}
		default:
			if got.ID < firstLeadID || len(got.Reasons) != 0 {
				t.Errorf("result[%d] = %+v, want an id and no reason", i, got)
			}
		}
	}
}

func TestSyncLeadsRecords(t *testing.T) {
	created, updated := wantResult{status: "created"}, wantResult{status: "updated"}
	skip := func(code, msg string) wantResult { return wantResult{"skipped", code, msg} }
	tests := []struct {
		name   string
		params map[string]any
		input  []map[string]any
		want   []wantResult
	}{
		{"create then update in one call", nil,
			[]map[string]any{rec("new@example.com", "firstName", "Ann"), rec("NEW@example.com ", "lastName", "Lee")},
			[]wantResult{created, updated}},
		{"update existing", nil, []map[string]any{rec("old@example.com", "title", "CTO")}, []wantResult{updated}},
		{"unknown field", nil, []map[string]any{rec("a@example.com", "role", "CTO")}, []wantResult{skip("1006", "Field 'role' not found")}},
		{"integer mismatch", nil, []map[string]any{rec("a@example.com", "numberOfEmployees", "lots")},
			[]wantResult{skip("1001", "Invalid value 'lots'. Required of type 'integer'")}},
		{"integer as string is fine", nil, []map[string]any{rec("int@example.com", "numberOfEmployees", "42")}, []wantResult{created}},
		{"fraction for integer", nil, []map[string]any{rec("a@example.com", "numberOfEmployees", 4.5)},
			[]wantResult{skip("1001", "Invalid value '4.5'. Required of type 'integer'")}},
		{"boolean mismatch", nil, []map[string]any{rec("a@example.com", "unsubscribed", "maybe")},
			[]wantResult{skip("1001", "Invalid value 'maybe'. Required of type 'boolean'")}},
		{"date mismatch", nil, []map[string]any{rec("a@example.com", "birthDate", "23/11/1990")},
			[]wantResult{skip("1001", "Invalid value '23/11/1990'. Required of type 'date'")}},
		{"float mismatch", nil, []map[string]any{rec("a@example.com", "annualRevenue", true)},
			[]wantResult{skip("1001", "Invalid value 'true'. Required of type 'float'")}},
		{"bad email", nil, []map[string]any{rec("not-an-email")},
			[]wantResult{skip("1001", "Invalid value 'not-an-email'. Required of type 'email'")}},
		{"missing lookup", nil, []map[string]any{{"firstName": "Ann"}},
			[]wantResult{skip("1002", "Missing value for required parameter 'email'")}},
		{"blank lookup", nil, []map[string]any{rec("  ")}, []wantResult{skip("701", "'email' cannot be blank")}},
		{"createOnly on existing", map[string]any{"action": "createOnly"}, []map[string]any{rec("old@example.com")},
			[]wantResult{skip("1005", "Lead already exists")}},
		{"updateOnly on missing", map[string]any{"action": "updateOnly"}, []map[string]any{rec("nobody@example.com")},
			[]wantResult{skip("1004", "Lead not found")}},
		{"createDuplicate", map[string]any{"action": "createDuplicate"}, []map[string]any{rec("old@example.com")}, []wantResult{created}},
		{"unknown lookup field", map[string]any{"lookupField": "role"}, []map[string]any{{"role": "x"}},
			[]wantResult{skip("1006", "Field 'role' not found")}},
		{"unsupported lookup field", map[string]any{"lookupField": "firstName"}, []map[string]any{{"firstName": "Ann"}},
			[]wantResult{skip("1011", "Field 'firstName' not supported")}},
		{"lookup by other field", map[string]any{"lookupField": "sfdcLeadId"}, []map[string]any{{"sfdcLeadId": "00Q1", "firstName": "Ann"}},
			[]wantResult{updated}},
		{"unknown partition", map[string]any{"partitionName": "Europe"}, []map[string]any{rec("a@example.com")},
			[]wantResult{skip("1008", "Access denied to partition 'Europe'")}},
		{"not an object", nil, []map[string]any{nil}, []wantResult{skip("1003", "Invalid data")}},
		{"mixed, in input order", nil, []map[string]any{
			rec("m1@example.com"), rec("m2@example.com", "role", "x"), rec("old@example.com"),
			rec("m3@example.com", "numberOfEmployees", "x"), rec("m4@example.com")},
			[]wantResult{created, skip("1006", "Field 'role' not found"), updated,
				skip("1001", "Invalid value 'x'. Required of type 'integer'"), created}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t, Options{})
			if _, err := s.AddLead(map[string]any{"email": "old@example.com", "sfdcLeadId": "00Q1"}); err != nil {
				t.Fatal(err)
			}
			r := syncLeads(t, s, mustToken(t, s), tt.params, tt.input...)
			checkResults(t, r, tt.want)
		})
	}
}

func TestSyncLeadsStoresTypedValues(t *testing.T) {
	s := mustServer(t, Options{})
	tok := mustToken(t, s)
	r := syncLeads(t, s, tok, nil, rec("Typed@Example.com", "numberOfEmployees", "250", "annualRevenue", 1.5e6,
		"unsubscribed", "true", "birthDate", "1990-11-23", "firstName", 7))
	checkResults(t, r, []wantResult{{status: "created"}})
	l, ok := s.Lead("email", "typed@example.com")
	if !ok {
		t.Fatal("lead not found by lower-case email")
	}
	want := map[string]any{"email": "Typed@Example.com", "numberOfEmployees": int64(250), "annualRevenue": 1.5e6,
		"unsubscribed": true, "birthDate": "1990-11-23", "firstName": "7", "id": r.Env.Result[0].ID}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("lead[%s] = %#v, want %#v", k, l[k], v)
		}
	}
	if s.LeadCount() != 1 || len(s.Leads()) != 1 || r.Env.Result[0].ID != firstLeadID {
		t.Fatalf("count %d, leads %v", s.LeadCount(), s.Leads())
	}
	l["email"] = "changed"
	if again, _ := s.Lead("email", "typed@example.com"); again["email"] != "Typed@Example.com" {
		t.Fatal("Lead returned the stored map, not a copy")
	}
}

func TestDuplicateLeadsAnswer1007(t *testing.T) {
	s := mustServer(t, Options{})
	for range 2 {
		if _, err := s.AddLead(map[string]any{"email": "twin@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	r := syncLeads(t, s, mustToken(t, s), nil, rec("twin@example.com"))
	checkResults(t, r, []wantResult{{"skipped", "1007", "Multiple leads match the lookup criteria"}})
	if got := len(s.LeadsBy("email", "twin@example.com")); got != 2 {
		t.Fatalf("LeadsBy = %d leads, want 2", got)
	}
}

func TestLookupByID(t *testing.T) {
	s := mustServer(t, Options{})
	id, err := s.AddLead(map[string]any{"email": "byid@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tok := mustToken(t, s)
	r := syncLeads(t, s, tok, map[string]any{"lookupField": "id", "action": "updateOnly"},
		map[string]any{"id": id, "title": "VP"}, map[string]any{"id": 42, "title": "VP"})
	checkResults(t, r, []wantResult{{status: "updated"}, {"skipped", "1004", "Lead not found"}})
	r = syncLeads(t, s, tok, map[string]any{"action": "createOnly"}, map[string]any{"id": id, "email": "x@example.com"})
	checkResults(t, r, []wantResult{{"skipped", "1003", "Invalid data"}})
	if l, _ := s.Lead("id", "1000000"); l["title"] != "VP" {
		t.Fatalf("lead by id: %v", l)
	}
}

func TestResponseLevelErrors(t *testing.T) {
	s := mustServer(t, Options{})
	tok := mustToken(t, s)
	many := make([]map[string]any, 301)
	for i := range many {
		many[i] = rec("x@example.com")
	}
	tests := []struct {
		name     string
		c        call
		wantCode string
		wantMsg  string
	}{
		{"GET sync", call{method: http.MethodGet, path: SyncLeadsPath}, "605", "HTTP Method not supported"},
		{"GET push", call{method: http.MethodGet, path: PushLeadPath}, "605", "HTTP Method not supported"},
		{"unknown path", call{path: "/rest/v1/leadz.json", body: []byte(`{}`)}, "610", "Requested resource not found"},
		{"invalid JSON", call{path: SyncLeadsPath, body: []byte(`{"input":[`)}, "609", "Invalid JSON"},
		{"wrong content type", call{path: SyncLeadsPath, ctype: "text/plain", body: []byte(`{}`)}, "612", "Invalid Content Type"},
		{"no input", call{path: SyncLeadsPath, body: []byte(`{"action":"createOnly"}`)}, "701", "'input' cannot be blank"},
		{"301 records", call{path: SyncLeadsPath, body: mustJSON(t, map[string]any{"input": many})}, "1003", "Batch size 301 exceeds the limit of 300 records"},
		{"bad action", call{path: SyncLeadsPath, body: []byte(`{"action":"upsert","input":[{"email":"a@b.c"}]}`)}, "1003", "Invalid action 'upsert'"},
		{"push without program", call{path: PushLeadPath, body: []byte(`{"input":[{"email":"a@b.c"}]}`)}, "1002", "Missing value for required parameter 'programName'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.token = tok
			r := mustDo(t, s, tt.c)
			if r.Status != 200 || r.Env.Success || len(r.Env.Errors) != 1 || r.Env.Result != nil {
				t.Fatalf("want HTTP 200 success:false with one error, got %d %s", r.Status, r.Body)
			}
			if e := r.Env.Errors[0]; e.Code != tt.wantCode || e.Message != tt.wantMsg || r.Env.RequestID == "" {
				t.Fatalf("got %+v (requestId %q), want %s %q", e, r.Env.RequestID, tt.wantCode, tt.wantMsg)
			}
			if !strings.Contains(string(r.Body), `"code":"`+tt.wantCode+`"`) {
				t.Fatalf("code not quoted: %s", r.Body)
			}
		})
	}
	if s.LeadCount() != 0 {
		t.Fatalf("refused calls created %d leads", s.LeadCount())
	}
}

func TestLeadsByKeepsIDOrderAfterReindexing(t *testing.T) {
	s := mustServer(t, Options{})
	tok := mustToken(t, s)
	a, _ := s.AddLead(map[string]any{"email": "a@example.com", "sfdcLeadId": "X"})
	b, _ := s.AddLead(map[string]any{"email": "b@example.com", "sfdcLeadId": "X"})
	if got := len(s.LeadsBy("sfdcLeadId", "x")); got != 2 { // builds the index
		t.Fatalf("%d leads", got)
	}
	syncLeads(t, s, tok, nil, rec("a@example.com", "sfdcLeadId", "Y"))
	syncLeads(t, s, tok, nil, rec("a@example.com", "sfdcLeadId", "X"))
	ls := s.LeadsBy("sfdcLeadId", "X")
	if len(ls) != 2 || ls[0]["id"] != a || ls[1]["id"] != b {
		t.Fatalf("LeadsBy order: %v", ls)
	}
	if len(s.LeadsBy("sfdcLeadId", "Y")) != 0 {
		t.Fatal("stale index entry")
	}
}
