package marketotest

import (
	"fmt"
	"sync"
	"testing"
)

// Many clients at once against a frozen clock: exactly CallsPerWindow calls
// are counted in the window (answered ok or 615, since refused calls count
// too), every other one is 606, and the counters add up.
func TestConcurrentClientsRespectWindow(t *testing.T) {
	clk := newClock(t0)
	s := mustServer(t, Options{Now: clk.Now, Limits: Limits{CallsPerWindow: 50, MaxConcurrency: 4}})
	tok := mustToken(t, s)
	const clients, each = 12, 10
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				body := mustJSON(t, map[string]any{"input": []any{rec(fmt.Sprintf("c%d-%d@example.com", c, i)), rec("shared@example.com", "title", "x")}})
				if _, err := do(t, s, call{path: SyncLeadsPath, token: tok, body: body}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.Calls != clients*each || st.ByCode[CodeOK]+st.ByCode["615"] != 50 || st.ByCode["606"] != clients*each-50 {
		t.Fatalf("by code %v", st.ByCode)
	}
	if st.MaxConcurrent > 4 || st.InFlight != 0 {
		t.Fatalf("max concurrent %d, in flight %d", st.MaxConcurrent, st.InFlight)
	}
	ok := st.ByCode[CodeOK]
	if st.Records != 2*ok || st.RecordStatus["created"]+st.RecordStatus["updated"] != 2*ok {
		t.Fatalf("records %d, statuses %v for %d ok calls", st.Records, st.RecordStatus, ok)
	}
	if s.LeadCount() < ok+1 || s.LeadCount() > 2*ok {
		t.Fatalf("LeadCount %d for %d ok calls", s.LeadCount(), ok)
	}
	if got := len(s.CallLog()); got != clients*each {
		t.Fatalf("call log has %d calls", got)
	}
}

func TestCallLogIsBounded(t *testing.T) {
	s := mustServer(t, Options{CallLogSize: 8, DisableLimits: true})
	tok := mustToken(t, s)
	for i := range 20 {
		syncLeads(t, s, tok, nil, rec(fmt.Sprintf("b%d@example.com", i)))
	}
	log := s.CallLog()
	if len(log) > 8 || len(log) == 0 || log[len(log)-1].Records != 1 {
		t.Fatalf("call log: %d entries", len(log))
	}
	s.ResetStats()
	if len(s.CallLog()) != 0 || s.Stats().Calls != 0 {
		t.Fatal("ResetStats kept calls")
	}
}

func BenchmarkSimSyncLeads300(b *testing.B) {
	s := mustServer(b, Options{DisableLimits: true})
	tok := mustToken(b, s)
	input := make([]map[string]any, 300)
	for i := range input {
		input[i] = rec(fmt.Sprintf("bench%d@example.com", i), "firstName", "Ann", "numberOfEmployees", 42)
	}
	body := mustJSON(b, map[string]any{"input": input})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if r := mustDo(b, s, call{path: SyncLeadsPath, token: tok, body: body}); r.code() != CodeOK {
			b.Fatal(r.code())
		}
	}
	b.ReportMetric(float64(300*b.N)/b.Elapsed().Seconds(), "records/s")
}
