package marketotest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

var allFaults = Faults{Seed: 42, Rate604: 0.1, Rate608: 0.05, Rate611: 0.05, Rate713: 0.1, Rate502: 0.1,
	RateHTML: 0.1, RateTruncated: 0.1, RateDrop: 0.1}

func TestDrawIsPureAndHonoursRates(t *testing.T) {
	const n = 20000
	counts := map[FaultKind]int{}
	for i := range uint64(n) {
		f := allFaults.Draw(i)
		if again := allFaults.Draw(i); again != f {
			t.Fatalf("Draw(%d) = %v then %v", i, f, again)
		}
		counts[f.Kind]++
	}
	for _, k := range allFaults.rates() {
		got := float64(counts[k.kind]) / n
		if math.Abs(got-k.rate) > 0.02 {
			t.Errorf("%s: rate %.3f, want %.3f", k.kind, got, k.rate)
		}
	}
	if got := float64(counts[FaultNone]) / n; math.Abs(got-0.3) > 0.02 {
		t.Errorf("no fault: rate %.3f, want 0.3", got)
	}
	other := allFaults
	other.Seed = 43
	same := 0
	for i := range uint64(200) {
		if other.Draw(i) == allFaults.Draw(i) {
			same++
		}
	}
	if same == 200 {
		t.Fatal("seeds 42 and 43 draw the same sequence")
	}
}

// observe sends n one-lead calls in sequence and returns what a client saw.
func observe(t *testing.T, f Faults, n int) ([]string, *Server) {
	s := mustServer(t, Options{Faults: f, DisableLimits: true})
	tok := mustToken(t, s)
	var seen []string
	for i := range n {
		body := mustJSON(t, map[string]any{"input": []any{rec(fmt.Sprintf("f%d@example.com", i))}})
		r, err := do(t, s, call{path: SyncLeadsPath, token: tok, body: body})
		switch {
		case err != nil:
			seen = append(seen, "error")
		case r.Status == 200 && strings.HasPrefix(string(r.Body), "<!DOCTYPE html>"):
			seen = append(seen, "html")
		case r.Status == 502 && strings.Contains(string(r.Body), "<html>"):
			seen = append(seen, "502")
		case r.JSONErr != nil:
			seen = append(seen, "truncated")
		default:
			seen = append(seen, r.code())
		}
	}
	return seen, s
}

func TestFaultsReproducibleFromSeed(t *testing.T) {
	const n = 60
	first, s1 := observe(t, allFaults, n)
	second, _ := observe(t, allFaults, n)
	if strings.Join(first, ",") != strings.Join(second, ",") {
		t.Fatalf("same seed, different faults:\n%v\n%v", first, second)
	}
	wantSeen := map[FaultKind]string{FaultNone: CodeOK, FaultDrop: "error", FaultHTML: "html", Fault502: "502", FaultTruncated: "truncated",
		Fault604: "604", Fault608: "608", Fault611: "611", Fault713: "713"}
	created := 0
	for i, got := range first {
		k := allFaults.Draw(uint64(i)).Kind
		if got != wantSeen[k] {
			t.Fatalf("call %d: saw %s, drew %q", i, got, k)
		}
		if k == FaultNone || k == FaultTruncated {
			created++
		}
	}
	if s1.LeadCount() != created {
		t.Fatalf("LeadCount = %d, want %d: only clean and truncated answers are processed", s1.LeadCount(), created)
	}
	st := s1.Stats()
	if st.Calls != n || st.ByCode[string(FaultDrop)] == 0 || st.ByCode[string(FaultTruncated)] == 0 || st.Records != created {
		t.Fatalf("stats: %+v", st)
	}
	other := allFaults
	other.Seed = 7
	if third, _ := observe(t, other, n); strings.Join(third, ",") == strings.Join(first, ",") {
		t.Fatal("another seed gave the same faults")
	}
}

func TestSlowAndLatency(t *testing.T) {
	s := mustServer(t, Options{Faults: Faults{RateSlow: 1, SlowDelay: 40 * time.Millisecond}, Latency: 10 * time.Millisecond})
	tok := mustToken(t, s)
	start := time.Now()
	if got := syncLeads(t, s, tok, nil, rec("slow@example.com")).code(); got != CodeOK {
		t.Fatalf("slow call: %s", got)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("slow call took %v, want ≥ 50ms", d)
	}
	if log := s.CallLog(); len(log) != 1 || log[0].Duration < 50*time.Millisecond {
		t.Fatalf("call log: %+v", log)
	}
}

func TestSetFaultsRestartsNumbering(t *testing.T) {
	f := Faults{Seed: 9, Rate713: 0.5}
	a, s := observe(t, f, 20)
	s.SetFaults(f)
	tok := mustToken(t, s)
	for i, want := range a {
		if got := syncLeads(t, s, tok, nil, rec(fmt.Sprintf("g%d@example.com", i))).code(); got != want {
			t.Fatalf("call %d after SetFaults: %s, want %s", i, got, want)
		}
	}
}
