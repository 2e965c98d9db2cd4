package repost

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/leadops/repost/policy"
)

func checkAppendJSON(t *testing.T, o *Outcome) {
	t.Helper()
	want, werr := json.Marshal(o)
	got, gerr := o.AppendJSON(nil)
	if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON(%+v) = %s, %v; json.Marshal %s, %v", o, got, gerr, want, werr)
	}
}

// AppendJSON writes exactly what json.Marshal writes.
func TestOutcomeAppendJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 5, 0, 0, 123456789, time.FixedZone("x", -6*3600))
	for _, o := range []Outcome{
		{EventID: "evt-1", LeadID: "L-1", Subscription: "123-ABC-456", Kind: KindReposted, Code: policy.CodeOK, MarketoID: 42, Status: "created", Attempts: 1, At: at},
		{EventID: "e<&>\"\\\n\t\b\f\r\x01\x7f", LeadID: "é\u2028\u2029\xff\xfe", Subscription: "_", Kind: KindParked, Code: "1006",
			Reason: "Field 'role' not found", Attempts: 3, At: at.UTC(), Actor: "ops@example.com", RequeuedAs: "evt-2", RequeueOf: "evt-0"},
		{Kind: KindSkipped, Code: policy.CodeSuperseded, At: time.Time{}},
		{Kind: KindRejected, Code: "", Attempts: -1, MarketoID: -5, At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		checkAppendJSON(t, &o)
	}
}

func FuzzOutcomeAppendJSON(f *testing.F) {
	f.Add("evt-1", "L-1", "sub", "reposted", "1006", "r <b>", int64(1), "created", 2, int64(1795000000), "a", "b", "c")
	f.Add("\xff", "\u2028", "", "", "invalid", "\x00", int64(0), "", 0, int64(-62135596800), "", "", "")
	f.Fuzz(func(t *testing.T, id, lead, sub, kind, code, reason string, mid int64, status string, attempts int, unix int64, actor, as, of string) {
		o := &Outcome{EventID: id, LeadID: lead, Subscription: sub, Kind: Kind(kind), Code: policy.Code(code), Reason: reason,
			MarketoID: mid, Status: status, Attempts: attempts, At: time.Unix(unix, 0).UTC(), Actor: actor, RequeuedAs: as, RequeueOf: of}
		checkAppendJSON(t, o)
	})
}
