package marketotest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func adminGet(t *testing.T, h http.Handler, target string, v any) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	if w.Code != 200 {
		t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
}

func adminPost(t *testing.T, h http.Handler, target, body string) int {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", target, strings.NewReader(body)))
	return w.Code
}

func TestAdminHandler(t *testing.T) {
	s := mustServer(t, Options{})
	h := s.AdminHandler()
	tok := mustToken(t, s)
	syncLeads(t, s, tok, nil, rec("adm@example.com"), rec("adm2@example.com"))

	var count struct{ Count int }
	adminGet(t, h, "/_sim/leads?count", &count)
	var leads []map[string]any
	adminGet(t, h, "/_sim/leads?value=ADM@example.com", &leads)
	var stats Stats
	adminGet(t, h, "/_sim/stats", &stats)
	if count.Count != 2 || len(leads) != 1 || leads[0]["email"] != "adm@example.com" || stats.Calls != 1 || stats.Records != 2 {
		t.Fatalf("count %+v, leads %v, stats %+v", count, leads, stats)
	}
	if code := adminPost(t, h, "/_sim/faults", `{"seed":1,"rate713":1}`); code != 200 {
		t.Fatalf("faults: %d", code)
	}
	if got := syncLeads(t, s, tok, nil, rec("x@example.com")).code(); got != "713" {
		t.Fatalf("after POST faults: %s", got)
	}
	if code := adminPost(t, h, "/_sim/faults", `{"rate713":2}`); code != 400 {
		t.Fatalf("bad faults accepted: %d", code)
	}
	adminPost(t, h, "/_sim/revoke", "")
	if got := syncLeads(t, s, tok, nil, rec("x@example.com")).code(); got != "601" {
		t.Fatalf("after revoke: %s", got)
	}
	adminPost(t, h, "/_sim/reset", "")
	var quota struct{ Used int }
	adminGet(t, h, "/_sim/quota", &quota)
	adminGet(t, h, "/_sim/stats", &stats)
	if quota.Used != 0 || stats.Calls != 0 || s.LeadCount() != 0 {
		t.Fatalf("after reset: quota %d, stats %+v, leads %d", quota.Used, stats, s.LeadCount())
	}
	if code := adminPost(t, h, "/_sim/reset?what=everything", ""); code != 400 {
		t.Fatalf("bad reset accepted: %d", code)
	}
}
