package policy

import (
	"testing"
	"time"
)

// fixedRand makes jitter exact: with 0.5 the delay is the interval itself.
func fixedRand(v float64) func() float64 { return func() float64 { return v } }

func mustEngine(tb testing.TB, cfg Config) *Engine {
	tb.Helper()
	if cfg.Rand == nil {
		cfg.Rand = fixedRand(0.5)
	}
	e, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return e
}

// TestDecideContractRows has one case per code of CONTRACT §6, every code
// of every row, plus the named codes and codes no row lists. Each case
// fails at attempt 3 of 10 at a fixed time, so a retry waits exactly 2s
// (500ms * 2^2, jitter centred by Rand = 0.5).
func TestDecideContractRows(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // 04:00 CST
	const (
		retry2s = 2 * time.Second
		to607   = 20 * time.Hour // to 2026-11-24T00:00-06:00
	)
	type want struct {
		action  Action
		attempt bool
		delay   time.Duration
		park    Code
		lower   bool
	}
	rp := func(c Code) want { return want{ActionPark, true, 0, c, false} }
	rt := want{ActionRetry, true, retry2s, "", false}
	tests := []struct {
		code Code
		want want
	}{
		// 601, 602: reauth, not an attempt.
		{"601", want{action: ActionReauth}},
		{"602", want{action: ActionReauth}},
		// HTTP 401 from identity, 603: halt.
		{"401", want{action: ActionHalt}},
		{"603", want{action: ActionHalt}},
		// 606, 607, 615: throttle, not an attempt.
		{"606", want{action: ActionThrottle, delay: 20 * time.Second}},
		{"607", want{action: ActionThrottle, delay: to607}},
		{"615", want{action: ActionThrottle, delay: 2 * time.Second, lower: true}},
		// retry row.
		{"502", rt}, {"604", rt}, {"608", rt}, {"611", rt}, {"614", rt},
		{"713", rt}, {"719", rt}, {"1016", rt}, {"1019", rt}, {"1029", rt},
		{CodeTimeout, rt}, {CodeNetwork, rt},
		{"500", rt}, {"503", rt}, {"504", rt}, {"599", rt}, // other 5xx
		// HTTP 413, 1036: split; HTTP 414: resend.
		{"413", want{action: ActionSplit, attempt: true}},
		{"1036", want{action: ActionSplit, attempt: true}},
		{"414", want{action: ActionResend, attempt: true}},
		// park: request or configuration defect.
		{"605", rp("605")}, {"609", rp("609")}, {"610", rp("610")},
		{"612", rp("612")}, {"613", rp("613")}, {"616", rp("616")},
		// park: mapping or data fix.
		{"701", rp("701")}, {"704", rp("704")}, {"709", rp("709")},
		{"1001", rp("1001")}, {"1002", rp("1002")}, {"1003", rp("1003")},
		{"1004", rp("1004")}, {"1006", rp("1006")}, {"1007", rp("1007")},
		{"1008", rp("1008")}, {"1009", rp("1009")}, {"1010", rp("1010")},
		{"1011", rp("1011")}, {"1013", rp("1013")}, {"1025", rp("1025")},
		{"1049", rp("1049")},
		// skip: already done.
		{"1005", want{action: ActionSkip, attempt: true}},
		{"1037", want{action: ActionSkip, attempt: true}},
		// Named codes the worker produces.
		{CodeInvalid, want{action: ActionPark, park: CodeInvalid}},
		{CodeUnknownSubscription, want{action: ActionPark, park: CodeUnknownSubscription}},
		{CodeTooLarge, want{action: ActionPark, park: CodeTooLarge}},
		{CodeExpired, want{action: ActionPark, park: CodeExpired}},
		{CodeRetriesExhausted, want{action: ActionPark, park: CodeRetriesExhausted}},
		{CodeSuperseded, want{action: ActionSkip}},
		// Anything else: retry as transient (seed codes no row lists, and
		// codes no document names).
		{"702", rt}, {"1012", rt}, {"1079", rt}, {"400", rt}, {"9999", rt},
	}
	e := mustEngine(t, Config{})
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			d := e.Decide(Input{Code: tt.code, Message: "m", Attempts: 3, Now: now, Window: 20 * time.Second})
			got := want{d.Action, d.Attempt, d.Delay, d.ParkCode, d.LowerConcurrency}
			if got != tt.want {
				t.Errorf("Decide(%s) = %+v, want %+v", tt.code, got, tt.want)
			}
			if !d.Until.Equal(now.Add(d.Delay)) {
				t.Errorf("Until = %v, want Now+Delay = %v", d.Until, now.Add(d.Delay))
			}
			if d.Code != tt.code || d.Reason == "" {
				t.Errorf("Code %q, Reason %q", d.Code, d.Reason)
			}
		})
	}
	t.Run("every contract row is tested", func(t *testing.T) {
		tested := map[Code]bool{}
		for _, tt := range tests {
			tested[tt.code] = true
		}
		for c := range contractRules {
			if !tested[c] {
				t.Errorf("code %s has a row in the table but no test case", c)
			}
		}
	})
}

func TestSeedCodesAreExplained(t *testing.T) {
	// Every code either seed document names (000_… and 003_…).
	seed := []Code{"401", "413", "414", "502",
		"601", "602", "603", "604", "605", "606", "607", "608", "609", "610",
		"611", "612", "613", "614", "615", "616",
		"701", "702", "703", "704", "709", "710", "711", "712", "713", "714", "718", "719",
		"1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009", "1010",
		"1011", "1012", "1013", "1014", "1015", "1016", "1017", "1018", "1019", "1020",
		"1021", "1022", "1025", "1026", "1027", "1028", "1029", "1035", "1036", "1037",
		"1042", "1048", "1049", "1076", "1077", "1078", "1079"}
	e := mustEngine(t, Config{})
	inTable := map[Code]bool{}
	for _, r := range e.Table() {
		inTable[r.Code] = true
	}
	for _, c := range seed {
		_, listed := contractRules[c]
		_, other := otherCodes[c]
		if listed == other {
			t.Errorf("%s: in the contract rows %v, in otherCodes %v: want exactly one", c, listed, other)
		}
		if !inTable[c] {
			t.Errorf("%s missing from Table()", c)
		}
		if row := e.Rule(c); row.Description == "" || row.Default == listed {
			t.Errorf("Rule(%s) = %+v", c, row)
		}
	}
	if len(otherCodes)+len(seed) == 0 {
		t.Fatal("empty")
	}
	for c := range otherCodes {
		if _, dup := contractRules[c]; dup {
			t.Errorf("%s in both tables", c)
		}
	}
}
