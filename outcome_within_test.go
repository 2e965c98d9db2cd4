package repost

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOutcomeWithinLimitCutsTheReason(t *testing.T) {
	o := &Outcome{EventID: "evt-1", LeadID: "L-1", Subscription: "123-ABC-456", Kind: KindRejected, Code: "invalid",
		Reason: strings.Repeat("é<", 40<<10), At: parkedAt}
	full, err := o.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 16 << 10
	if len(full) <= limit {
		t.Fatalf("the outcome is only %d bytes", len(full))
	}
	got, err := o.AppendJSONWithin(nil, limit)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > limit || len(got) < limit/2 {
		t.Fatalf("outcome is %d bytes, want at most %d and not much less", len(got), limit)
	}
	var back Outcome
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if !utf8.ValidString(back.Reason) || !strings.HasPrefix(o.Reason, strings.TrimSuffix(back.Reason, reasonCut)) || !strings.HasSuffix(back.Reason, reasonCut) {
		t.Errorf("reason %q… is not a marked prefix of the original", truncate(back.Reason, 40))
	}
	if back.EventID != o.EventID || back.Kind != o.Kind || back.Code != o.Code || o.Reason == back.Reason {
		t.Errorf("outcome changed beyond its reason: %+v (or the caller's was cut)", back)
	}
	small := &Outcome{EventID: "evt-2", Subscription: "s", Kind: KindSkipped, Reason: "short", At: parkedAt}
	a, _ := small.AppendJSON(nil)
	b, err := small.AppendJSONWithin(nil, limit)
	if err != nil || string(a) != string(b) {
		t.Errorf("a small outcome changed: %s vs %s (%v)", a, b, err)
	}
	if _, err := small.AppendJSONWithin(nil, 20); err == nil {
		t.Error("an outcome that cannot fit gave no error")
	}
}
