package policy_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadops/repost/policy"
)

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name      string
		cfg       policy.Config
		wantField string
		wantErr   error
	}{
		{"negative maxAttempts", policy.Config{MaxAttempts: -1}, "maxAttempts", nil},
		{"maxAttempts too high", policy.Config{MaxAttempts: policy.MaxMaxAttempts + 1}, "maxAttempts", nil},
		{"unknown action", policy.Config{Overrides: map[policy.Code]policy.Action{"1004": "ignore"}}, "overrides[1004]", policy.ErrUnknownAction},
		{"empty action", policy.Config{Overrides: map[policy.Code]policy.Action{"1004": ""}}, "overrides[1004]", policy.ErrUnknownAction},
		{"upper-case action not parsed", policy.Config{Overrides: map[policy.Code]policy.Action{"1004": "Skip"}}, "overrides[1004]", policy.ErrUnknownAction},
		{"unknown code name", policy.Config{Overrides: map[policy.Code]policy.Action{"bogus": "park"}}, "overrides[bogus]", nil},
		{"code not canonical", policy.Config{Overrides: map[policy.Code]policy.Action{"01006": "park"}}, "overrides[01006]", nil},
		{"empty code", policy.Config{Overrides: map[policy.Code]policy.Action{"": "park"}}, "overrides[]", nil},
		{"invalid cannot be overridden", policy.Config{Overrides: map[policy.Code]policy.Action{policy.CodeInvalid: "retry"}}, "overrides[invalid]", nil},
		{"retries-exhausted cannot be overridden", policy.Config{Overrides: map[policy.Code]policy.Action{policy.CodeRetriesExhausted: "retry"}}, "overrides[retries-exhausted]", nil},
		{"expired cannot be overridden", policy.Config{Overrides: map[policy.Code]policy.Action{policy.CodeExpired: "retry"}}, "overrides[expired]", nil},
		{"success cannot be overridden", policy.Config{Overrides: map[policy.Code]policy.Action{policy.CodeOK: "park"}}, "overrides[0]", nil},
		{"initial zero in a given backoff", policy.Config{Backoff: policy.Backoff{Max: time.Second, Multiplier: 2}}, "backoff.initial", nil},
		{"max below initial", policy.Config{Backoff: policy.Backoff{Initial: time.Second, Max: time.Millisecond, Multiplier: 2}}, "backoff.max", nil},
		{"multiplier below 1", policy.Config{Backoff: policy.Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 0.5}}, "backoff.multiplier", nil},
		{"jitter 1", policy.Config{Backoff: policy.Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 2, Jitter: 1}}, "backoff.jitter", nil},
		{"negative jitter", policy.Config{Backoff: policy.Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 2, Jitter: -0.1}}, "backoff.jitter", nil},
		{"negative throttle615", policy.Config{Throttle615: -time.Second}, "throttle615", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := policy.New(tt.cfg)
			var ce *policy.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("New = %v, %v; want a *ConfigError", e, err)
			}
			if ce.Field != tt.wantField || !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q names field %q, want %q", err, ce.Field, tt.wantField)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	e := mustPolicy(t, policy.Config{Rand: constRand(0.5)})
	if e.MaxAttempts() != 10 {
		t.Errorf("MaxAttempts = %d, want 10", e.MaxAttempts())
	}
	if d := e.Decide(policy.Input{Code: "502", Attempts: 1}); d.Delay != 500*time.Millisecond {
		t.Errorf("first retry delay %v, want 500ms", d.Delay)
	}
	if d := e.Decide(policy.Input{Code: "615"}); d.Delay != 2*time.Second {
		t.Errorf("615 delay %v, want 2s", d.Delay)
	}
	if d := e.Decide(policy.Input{Code: "606"}); d.Delay != 20*time.Second {
		t.Errorf("606 delay without a window %v, want 20s", d.Delay)
	}
	if d := e.Decide(policy.Input{Code: "606", Window: time.Minute}); d.Delay != time.Minute {
		t.Errorf("606 delay with a 1m window %v, want 1m", d.Delay)
	}
}

func TestOverrides(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := mustPolicy(t, policy.Config{Rand: constRand(0.5), Throttle615: 5 * time.Second,
		Overrides: map[policy.Code]policy.Action{
			"1004":    policy.ActionSkip,     // contract example
			"1006":    policy.ActionPark,     // same as the default: still shown as overridden
			"702":     policy.ActionPark,     // an unlisted seed code
			"604":     policy.ActionThrottle, // a retry row made a wait: the window, not an attempt
			"1005":    policy.ActionRetry,    // a non-counting row made counting
			"606":     policy.ActionRetry,    // a throttle made a retry
			"413":     policy.ActionPark,
			"timeout": policy.ActionHalt,
		}})
	tests := []struct {
		code     policy.Code
		action   policy.Action
		attempt  bool
		delay    time.Duration
		parkCode policy.Code
		inReason string
	}{
		{"1004", policy.ActionSkip, true, 0, "", "(config override)"},
		{"1006", policy.ActionPark, true, 0, "1006", "park for a mapping or data fix (config override)"},
		{"702", policy.ActionPark, true, 0, "702", "park for a human (config override)"},
		{"604", policy.ActionThrottle, false, 30 * time.Second, "", "wait 30s"},
		{"1005", policy.ActionRetry, true, time.Second, "", "retry in 1s"},
		{"606", policy.ActionRetry, true, time.Second, "", "retry in 1s"},
		{"413", policy.ActionPark, true, 0, "413", "park"},
		{"timeout", policy.ActionHalt, false, 0, "", "halt"},
		{"1003", policy.ActionPark, true, 0, "1003", "park for a mapping or data fix"}, // not overridden
		{"615", policy.ActionThrottle, false, 5 * time.Second, "", "wait 5s"},          // Throttle615
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			d := e.Decide(policy.Input{Code: tt.code, Attempts: 2, Now: now, Window: 30 * time.Second})
			if d.Action != tt.action || d.Attempt != tt.attempt || d.Delay != tt.delay || d.ParkCode != tt.parkCode {
				t.Errorf("got %s attempt=%v delay=%v park=%q, want %s attempt=%v delay=%v park=%q",
					d.Action, d.Attempt, d.Delay, d.ParkCode, tt.action, tt.attempt, tt.delay, tt.parkCode)
			}
			if !strings.Contains(d.Reason, tt.inReason) {
				t.Errorf("Reason %q lacks %q", d.Reason, tt.inReason)
			}
			row := e.Rule(tt.code)
			if row.Action != tt.action || row.Attempt != tt.attempt {
				t.Errorf("Rule = %+v, disagrees with Decide", row)
			}
			if strings.Contains(d.Reason, "override") != row.Overridden {
				t.Errorf("Reason %q vs Overridden %v", d.Reason, row.Overridden)
			}
		})
	}
}

func TestMaxAttempts(t *testing.T) {
	e := mustPolicy(t, policy.Config{MaxAttempts: 3, Rand: constRand(0.5)})
	tests := []struct {
		code     policy.Code
		attempts int
		want     policy.Action
		parkCode policy.Code
	}{
		{"604", 2, policy.ActionRetry, ""},
		{"604", 3, policy.ActionPark, policy.CodeRetriesExhausted},
		{"604", 40, policy.ActionPark, policy.CodeRetriesExhausted},
		{"9999", 3, policy.ActionPark, policy.CodeRetriesExhausted}, // anything else: retry, then park
		{"network", 3, policy.ActionPark, policy.CodeRetriesExhausted},
		{"413", 2, policy.ActionSplit, ""},
		{"413", 3, policy.ActionPark, policy.CodeRetriesExhausted},
		{"414", 3, policy.ActionPark, policy.CodeRetriesExhausted},
		{"606", 40, policy.ActionThrottle, ""}, // not attempts: never exhausted
		{"607", 40, policy.ActionThrottle, ""},
		{"601", 40, policy.ActionReauth, ""},
		{"1006", 1, policy.ActionPark, "1006"},
		{"1006", 40, policy.ActionPark, "1006"}, // parked under its own code
	}
	for _, tt := range tests {
		d := e.Decide(policy.Input{Code: tt.code, Message: "boom", Attempts: tt.attempts})
		if d.Action != tt.want || d.ParkCode != tt.parkCode {
			t.Errorf("%s at %d attempts: %s park=%q, want %s park=%q", tt.code, tt.attempts, d.Action, d.ParkCode, tt.want, tt.parkCode)
		}
		if tt.parkCode == policy.CodeRetriesExhausted {
			if d.Delay != 0 || !strings.Contains(d.Reason, "retries exhausted") || !d.Attempt {
				t.Errorf("%s exhausted: delay %v attempt %v reason %q", tt.code, d.Delay, d.Attempt, d.Reason)
			}
		}
	}
}

func TestReason(t *testing.T) {
	e := mustPolicy(t, policy.Config{Rand: constRand(0.5)})
	tests := []struct {
		in   policy.Input
		want string
	}{
		{policy.Input{Code: "1006", Message: "Field 'role' not found", Attempts: 1},
			"1006 Field 'role' not found: park for a mapping or data fix (field role)"},
		{policy.Input{Code: "1006", Attempts: 1}, "1006 Field '…' not found: park for a mapping or data fix"},
		{policy.Input{Code: "604", Message: "Request\n timed   out", Attempts: 3},
			"604 Request timed out: retry in 2s (3 of 10 attempts used)"},
		{policy.Input{Code: "604", Attempts: 10}, "604 Request timed out: retries exhausted (10 of 10 attempts used): park as retries-exhausted"},
		{policy.Input{Code: "601"}, "601 Access token invalid: reauthenticate and repost at once"},
		{policy.Input{Code: "401"}, "401 Unauthorized: halt the subscription until its credentials or permissions are fixed"},
		{policy.Input{Code: "1005"}, "1005 Lead already exists: skip: already done"},
		{policy.Input{Code: "414"}, "414 Request-URI Too Long: resend as POST with _method=GET"},
		{policy.Input{Code: "607", Now: mustTime(t, "2026-03-08T12:00:00-05:00")},
			"607 Daily quota reached: wait for the daily quota reset at 2026-03-09 00:00 CDT"},
	}
	for _, tt := range tests {
		if got := e.Decide(tt.in).Reason; got != tt.want {
			t.Errorf("Reason(%s) = %q, want %q", tt.in.Code, got, tt.want)
		}
	}
	long := strings.Repeat("é", 300)
	if r := e.Decide(policy.Input{Code: "611", Message: long}).Reason; len(r) > 300 || strings.ContainsRune(r, '\uFFFD') {
		t.Errorf("long message not bounded cleanly: %d bytes", len(r))
	}
}

func TestTable(t *testing.T) {
	e := mustPolicy(t, policy.Config{Overrides: map[policy.Code]policy.Action{"1004": "skip", "4242": "park"}})
	rows := e.Table()
	pos := map[policy.Code]int{}
	for i, r := range rows {
		pos[r.Code] = i
		if r.Description == "" || !r.Action.Valid() {
			t.Errorf("row %+v", r)
		}
	}
	order := []policy.Code{"401", "413", "414", "502", "601", "1001", "1079", "4242", "invalid", "network", "superseded", "timeout"}
	for i := 1; i < len(order); i++ {
		if pos[order[i-1]] >= pos[order[i]] {
			t.Errorf("%s not before %s", order[i-1], order[i])
		}
	}
	if r := rows[pos["1004"]]; r.Action != policy.ActionSkip || !r.Overridden || r.Default {
		t.Errorf("1004 row %+v", r)
	}
	if r := rows[pos["4242"]]; r.Action != policy.ActionPark || !r.Overridden || !r.Default {
		t.Errorf("4242 row %+v", r)
	}
	if r := rows[pos["702"]]; r.Action != policy.ActionRetry || !r.Default || !strings.HasPrefix(r.Description, "No data found") {
		t.Errorf("702 row %+v", r)
	}
	if r := e.Rule("777"); r.Action != policy.ActionRetry || !r.Attempt || !r.Default || r.Overridden {
		t.Errorf("Rule(777) = %+v, want the default retry", r)
	}
	if r := e.Rule("507"); r.Default || r.Action != policy.ActionRetry {
		t.Errorf("Rule(507) = %+v, want the listed 'other 5xx' retry", r)
	}
	b, err := json.Marshal(rows[pos["1006"]])
	if err != nil || !strings.Contains(string(b), `"code":1006`) || !strings.Contains(string(b), `"action":"park"`) {
		t.Errorf("row JSON %s, %v", b, err)
	}
}

func TestParseAction(t *testing.T) {
	tests := []struct {
		in      string
		want    policy.Action
		wantErr error
	}{
		{"park", policy.ActionPark, nil},
		{" Retry ", policy.ActionRetry, nil},
		{"RESEND", policy.ActionResend, nil},
		{"ignore", "", policy.ErrUnknownAction},
		{"", "", policy.ErrUnknownAction},
	}
	for _, tt := range tests {
		got, err := policy.ParseAction(tt.in)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("ParseAction(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if n := len(policy.Actions()); n != 8 {
		t.Errorf("%d actions, want 8", n)
	}
	var a policy.Action
	if err := json.Unmarshal([]byte(`"halt"`), &a); err != nil || a != policy.ActionHalt {
		t.Errorf("unmarshal halt: %q, %v", a, err)
	}
	if err := json.Unmarshal([]byte(`"nope"`), &a); !errors.Is(err, policy.ErrUnknownAction) {
		t.Errorf("unmarshal nope: %v", err)
	}
}

// TestDecideConcurrent runs under -race with the default Rand.
func TestDecideConcurrent(t *testing.T) {
	e := mustPolicy(t, policy.Config{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i < 200; i++ {
				d := e.Decide(policy.Input{Code: "502", Attempts: i%9 + 1})
				if d.Action != policy.ActionRetry || d.Delay <= 0 {
					t.Errorf("decision %+v", d)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Action answers what Decide answers for a first failure, for every code of
// the table, unlisted codes and overridden ones.
func TestActionIsDecidesFirstAction(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, cfg := range []policy.Config{{}, {Overrides: map[policy.Code]policy.Action{
		"1004": policy.ActionSkip, "604": policy.ActionThrottle, "606": policy.ActionRetry, "413": policy.ActionPark, "timeout": policy.ActionHalt,
	}}} {
		e := mustPolicy(t, cfg)
		codes := []policy.Code{"99999", "1", "200", "0"}
		for _, r := range e.Table() {
			codes = append(codes, r.Code)
		}
		for _, c := range codes {
			if got, want := e.Action(c), e.Decide(policy.Input{Code: c, Now: now}).Action; got != want {
				t.Errorf("Action(%s) = %s, Decide says %s", c, got, want)
			}
		}
	}
}
