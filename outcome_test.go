package repost

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/policy"
)

// contractOutcome is the example of CONTRACT §4, verbatim.
const contractOutcome = `{"eventId": "evt-7f3a", "leadId": "L-1001", "subscription": "123-ABC-456",
 "outcome": "reposted", "code": 0, "reason": "", "marketoId": 1146997,
 "status": "created", "attempts": 2, "at": "2026-11-23T10:00:04Z"}`

func TestOutcomeMatchesContract(t *testing.T) {
	o := Outcome{
		EventID: "evt-7f3a", LeadID: "L-1001", Subscription: "123-ABC-456",
		Kind: KindReposted, Code: policy.CodeOK, MarketoID: 1146997, Status: "created",
		Attempts: 2, At: time.Date(2026, 11, 23, 10, 0, 4, 0, time.UTC),
	}
	var got, want map[string]any
	if err := json.Unmarshal(mustMarshal(t, o), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(contractOutcome), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outcome JSON = %v\nwant %v", got, want)
	}
	var back Outcome
	if err := json.Unmarshal([]byte(contractOutcome), &back); err != nil || !reflect.DeepEqual(back, o) {
		t.Errorf("decoding the contract's outcome = %+v, %v; want %+v", back, err, o)
	}
}

func TestOutcomeOptionalKeys(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	parked := Outcome{EventID: "e", LeadID: "L", Subscription: "s", Kind: KindParked, Code: "1006", Reason: "Field 'role' not found", Attempts: 1, At: at}
	b := string(mustMarshal(t, parked))
	for _, absent := range []string{"marketoId", "status", "actor", "requeuedAs", "requeueOf"} {
		if strings.Contains(b, `"`+absent+`"`) {
			t.Errorf("parked outcome %s has %s", b, absent)
		}
	}
	rejected := Outcome{EventID: "e", Subscription: "_", Kind: KindRejected, Code: policy.CodeInvalid, At: at}
	if b := string(mustMarshal(t, rejected)); !strings.Contains(b, `"code":"invalid"`) || !strings.Contains(b, `"leadId":""`) {
		t.Errorf("rejected outcome = %s", b)
	}
	requeued := Outcome{EventID: "e", Subscription: "s", Kind: KindRequeued, Code: "1006", At: at, Actor: "alice", RequeuedAs: "e-r1"}
	if b := string(mustMarshal(t, requeued)); !strings.Contains(b, `"actor":"alice","requeuedAs":"e-r1"`) {
		t.Errorf("requeued outcome = %s", b)
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		kind      Kind
		valid     bool
		terminal  bool
		unmarshal bool
	}{
		{KindReposted, true, true, true},
		{KindParked, true, true, true},
		{KindSkipped, true, true, true},
		{KindRejected, true, true, true},
		{KindRequeued, true, false, true},
		{KindDiscarded, true, false, true},
		{KindPaused, true, false, true},
		{KindResumed, true, false, true},
		{"retried", false, false, false},
		{"", false, false, false},
	}
	for _, tt := range tests {
		if tt.kind.Valid() != tt.valid || tt.kind.Terminal() != tt.terminal {
			t.Errorf("%q: Valid %v Terminal %v", tt.kind, tt.kind.Valid(), tt.kind.Terminal())
		}
		var k Kind
		err := json.Unmarshal(mustMarshal(t, string(tt.kind)), &k)
		if (err == nil) != tt.unmarshal || (err == nil && k != tt.kind) {
			t.Errorf("%q: Unmarshal = %q, %v", tt.kind, k, err)
		}
	}
	var k Kind
	if err := json.Unmarshal([]byte(`3`), &k); err == nil {
		t.Error("a number decoded as a Kind")
	}
}

func TestOutcomeValidate(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	ok := Outcome{EventID: "e", LeadID: "L", Subscription: "s", Kind: KindReposted, MarketoID: 5, Status: "updated", Attempts: 1, At: at}
	tests := []struct {
		name    string
		mutate  func(o *Outcome)
		wantErr string
	}{
		{name: "valid reposted", mutate: func(o *Outcome) {}},
		{name: "valid skipped", mutate: func(o *Outcome) { o.Kind, o.MarketoID, o.Status, o.Code = KindSkipped, 0, "", "1005" }},
		{name: "no eventId", mutate: func(o *Outcome) { o.EventID = "" }, wantErr: "eventId"},
		{name: "no subscription", mutate: func(o *Outcome) { o.Subscription = "" }, wantErr: "subscription"},
		{name: "unknown outcome", mutate: func(o *Outcome) { o.Kind = "done" }, wantErr: "unknown outcome"},
		{name: "no time", mutate: func(o *Outcome) { o.At = time.Time{} }, wantErr: "at is not set"},
		{name: "negative attempts", mutate: func(o *Outcome) { o.Attempts = -1 }, wantErr: "attempts"},
		{name: "reposted skipped", mutate: func(o *Outcome) { o.Status = "skipped" }, wantErr: "status"},
		{name: "reposted without id", mutate: func(o *Outcome) { o.MarketoID = 0 }, wantErr: "marketoId"},
	}
	for _, tt := range tests {
		o := ok
		tt.mutate(&o)
		err := o.Validate()
		if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: Validate() = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}
