package marketotest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func oneLead(t *testing.T) []byte {
	return mustJSON(t, map[string]any{"input": []any{rec("a@example.com")}})
}

func TestRateLimitAtThreshold(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		msg    string
	}{
		{"marketo default", Limits{}, "Max rate limit '100' exceeded with in '20' secs"},
		{"fast tests", Limits{CallsPerWindow: 10, Window: 2 * time.Second}, "Max rate limit '10' exceeded with in '2' secs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			s := mustServer(t, Options{Now: clk.Now, Limits: tt.limits})
			lim := s.Options().Limits
			tok, body := mustToken(t, s), oneLead(t)
			for i := range lim.CallsPerWindow {
				if got := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body}).code(); got != CodeOK {
					t.Fatalf("call %d: %s", i+1, got)
				}
				clk.Advance(lim.Window / time.Duration(lim.CallsPerWindow) / 2)
			}
			r := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body})
			if r.code() != "606" || r.Env.Errors[0].Message != tt.msg {
				t.Fatalf("call %d: %s, want 606 %q", lim.CallsPerWindow+1, r.Body, tt.msg)
			}
			// The window slides: once the first calls are older than the
			// window, calls pass again.
			clk.Advance(lim.Window)
			if got := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body}).code(); got != CodeOK {
				t.Fatalf("after the window: %s", got)
			}
			if st := s.Stats(); st.Violations[606] != 1 || len(st.Violations) != 1 {
				t.Fatalf("violations: %v", st.Violations)
			}
		})
	}
}

func TestConcurrencyLimitAtThreshold(t *testing.T) {
	s := mustServer(t, Options{Limits: Limits{MaxConcurrency: 10}})
	tok, body := mustToken(t, s), oneLead(t)
	s.Pause()
	var wg sync.WaitGroup
	codes := make(chan string, 10)
	for range 10 {
		wg.Go(func() {
			r, err := do(t, s, call{path: SyncLeadsPath, token: tok, body: body})
			if err != nil {
				codes <- err.Error()
				return
			}
			codes <- r.code()
		})
	}
	checkFor(t, 10*time.Second, func() bool { return s.InFlight() == 10 }, "10 calls in flight")
	r := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body})
	if r.code() != "615" || r.Env.Errors[0].Message != "Concurrent access limit reached" {
		t.Fatalf("11th concurrent call: %s", r.Body)
	}
	s.Resume()
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != CodeOK {
			t.Fatalf("held call answered %s", c)
		}
	}
	st := s.Stats()
	if st.Violations[615] != 1 || st.MaxConcurrent != 10 || st.InFlight != 0 {
		t.Fatalf("stats: violations %v, max concurrent %d, in flight %d", st.Violations, st.MaxConcurrent, st.InFlight)
	}
	log := s.CallLog()
	refused, maxIn := 0, 0
	for _, c := range log {
		if c.Code == "615" {
			refused++
		}
		maxIn = max(maxIn, c.InFlight)
	}
	if len(log) != 11 || refused != 1 || maxIn != 10 {
		t.Fatalf("call log: %+v", log)
	}
}

func TestDailyQuotaResetsAtChicagoMidnight(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	// 23:59:50 in Chicago is 05:59:50 UTC in November (CST, UTC-6).
	clk := newClock(time.Date(2026, 11, 23, 23, 59, 50, 0, chicago))
	s := mustServer(t, Options{Now: clk.Now, Limits: Limits{DailyQuota: 5}})
	tok, body := mustToken(t, s), oneLead(t)
	for i := range 5 {
		if got := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body}).code(); got != CodeOK {
			t.Fatalf("call %d: %s", i+1, got)
		}
	}
	r := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body})
	if r.code() != "607" || r.Env.Errors[0].Message != "Daily quota reached" {
		t.Fatalf("quota+1: %s", r.Body)
	}
	clk.Advance(9 * time.Second) // 23:59:59 Chicago: still the same day
	if got := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body}).code(); got != "607" {
		t.Fatalf("one second before midnight: %s", got)
	}
	clk.Advance(time.Second) // 00:00:00 Chicago, 06:00 UTC
	if got := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body}).code(); got != CodeOK {
		t.Fatalf("at Chicago midnight: %s", got)
	}
	if s.QuotaUsed() != 1 || s.Stats().Violations[607] != 2 {
		t.Fatalf("used %d, violations %v", s.QuotaUsed(), s.Stats().Violations)
	}
}

func TestBodySizeLimit(t *testing.T) {
	s := mustServer(t, Options{})
	tok := mustToken(t, s)
	exact := padTo(t, DefaultMaxBodyBytes)
	if r := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: exact}); r.code() != CodeOK {
		t.Fatalf("body of exactly 1 MiB: %s", r.code())
	}
	over := padTo(t, DefaultMaxBodyBytes+1)
	r := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: over})
	if r.Status != 413 || !strings.Contains(string(r.Body), "413 Request Entity Too Large") {
		t.Fatalf("1 MiB + 1: %d %.80s", r.Status, r.Body)
	}
	if st := s.Stats(); st.Violations[413] != 1 || s.LeadCount() != 1 {
		t.Fatalf("violations %v, leads %d", st.Violations, s.LeadCount())
	}
}

// padTo returns a one-lead body of exactly n bytes (JSON allows trailing spaces).
func padTo(t *testing.T, n int) []byte {
	b := oneLead(t)
	return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
}

func TestURILimit(t *testing.T) {
	s := mustServer(t, Options{})
	tok := mustToken(t, s)
	long := SyncLeadsPath + "?filterValues=" + strings.Repeat("x", DefaultMaxURIBytes)
	if r := mustDo(t, s, call{path: long, token: tok, body: oneLead(t)}); r.Status != 414 {
		t.Fatalf("long URI: %d", r.Status)
	}
}

func TestUncountedCodes(t *testing.T) {
	clk := newClock(t0)
	s := mustServer(t, Options{Now: clk.Now, Limits: Limits{DailyQuota: 3, CallsPerWindow: 3}})
	tok, body := mustToken(t, s), oneLead(t)
	for range 5 {
		mustDo(t, s, call{path: SyncLeadsPath, body: body})                                     // 601
		mustDo(t, s, call{path: SyncLeadsPath, token: tok, method: "GET"})                      // 605
		s.SetFaults(Faults{Rate604: 1})                                                         // 604
		mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body})                         //
		s.SetFaults(Faults{Rate611: 0.5, Rate608: 0.5})                                         // 608 or 611
		mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body})                         //
		s.SetFaults(Faults{})                                                                   //
		mustDo(t, s, call{path: SyncLeadsPath + "?access_token=" + tok, token: "", body: body}) // 601
	}
	if s.QuotaUsed() != 0 {
		t.Fatalf("QuotaUsed = %d after only uncounted answers", s.QuotaUsed())
	}
	for i := range 3 {
		if got := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body}).code(); got != CodeOK {
			t.Fatalf("counted call %d: %s", i+1, got)
		}
	}
	if got := mustDo(t, s, call{path: "/rest/v1/nothing.json", token: tok, body: body}).code(); got != "607" {
		t.Fatalf("a 4th call (610 would count too): %s", got)
	}
	st := s.Stats()
	want := map[string]int{"601": 10, "605": 5, "604": 5, CodeOK: 3, "607": 1}
	for code, n := range want {
		if st.ByCode[code] != n {
			t.Errorf("ByCode[%s] = %d, want %d (%v)", code, st.ByCode[code], n, st.ByCode)
		}
	}
	if st.ByCode["608"]+st.ByCode["611"] != 5 {
		t.Errorf("608+611 = %d, want 5", st.ByCode["608"]+st.ByCode["611"])
	}
}

func TestDisableLimits(t *testing.T) {
	s := mustServer(t, Options{DisableLimits: true, Limits: Limits{CallsPerWindow: 2, DailyQuota: 2, MaxConcurrency: 1}})
	tok, body := mustToken(t, s), oneLead(t)
	for i := range 5 {
		if got := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body}).code(); got != CodeOK {
			t.Fatalf("call %d with limits disabled: %s", i+1, got)
		}
	}
	if s.QuotaUsed() != 5 {
		t.Fatalf("QuotaUsed = %d, want 5 (counted, not enforced)", s.QuotaUsed())
	}
	if r := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: padTo(t, DefaultMaxBodyBytes+1)}); r.Status != 413 {
		t.Fatalf("body limit must stay: %d", r.Status)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"zero", Options{}, ""},
		{"negative window", Options{Limits: Limits{Window: -1}}, "negative"},
		{"bad type", Options{Schema: map[string]FieldType{"x": "blob"}}, "unknown type"},
		{"empty program", Options{Programs: map[string][]string{"P": nil}}, "no status"},
		{"rates over 1", Options{Faults: Faults{Rate604: 0.6, Rate611: 0.6}}, "sum"},
		{"rate over 1", Options{Faults: Faults{Rate502: 2}}, "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if got := fmt.Sprint(err); (tt.wantErr == "") != (err == nil) || !strings.Contains(got, tt.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
