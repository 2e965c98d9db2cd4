package repost

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/policy"
)

// FuzzDecodeEvent checks, for any body arriving on no subject, its own or
// another:
//   - DecodeEvent never panics, and fails only with an *InvalidEventError;
//   - an accepted event obeys the rules, re-encodes, and decodes again to the
//     same event and the same bytes; its Failure is stable;
//   - every body, accepted or not, can be parked, and the parked entry gives
//     back the body byte for byte, the park block and a usable eventId.
func FuzzDecodeEvent(f *testing.F) {
	for _, c := range decodeCases() {
		if len(c.data) < 64<<10 {
			f.Add(c.data, subjectModeOf(c.data, c.sub))
		}
	}
	for _, name := range seedEnvelopes {
		f.Add(ev("response", mustReadString(f, "envelopes/"+name), "responseStatusCode", `"1006"`), uint8(1))
	}
	f.Add([]byte(mustReadString(f, "contract-event.json")), uint8(1))
	f.Add([]byte("{\n  \"eventId\" : \"e\",\t\"leadId\": \"L\" ,\n  \"subscription\":\"s\", \"endpoint\": \"/rest/v1/leads.json\",\n"+
		"  \"requestContent\": { \"custom\" : [ 1 , 2.50 ] , \"input\" : [ { \"email\" : \"a@b\" } ] },\n"+
		"  \"dapRow\" : { \"n\" : 1.0 , \"s\" : \"<b>\" }\r\n}\n"), uint8(0))
	f.Add(ev("endpoint", `"/rest/v1/leads/push.json"`, "requestContent",
		`{"programName":"P <&>","input":[{"email":"a@b","n":12345678901234567890,"p":1.50}]}`), uint8(0))
	// The fast paths' agreement with the token walker on any body is
	// internal/strictjson's FuzzFastPathsAgree (with this target's corpus).
	f.Fuzz(func(t *testing.T, data []byte, subjectMode uint8) {
		checkBody(t, data, subjectFor(data, subjectMode))
	})
}

// FuzzEventParts fills the parts of a well-formed event with fuzzed values,
// so that the fuzzer spends its time past the JSON syntax: in IDs, request
// parameters, records, status codes and response envelopes.
func FuzzEventParts(f *testing.F) {
	f.Add("evt-1", "L-1", "123-ABC-456", false, `"action":"createOnly",`, `{"email":"a@b","n":1.50}`, `1006`, `{}`, `{ "a" : [ 1.0 ] }`)
	f.Add("e", "L", "s", true, `"programName":"P",`, `{"email":"a@b"}`, `"413"`, `null`, `"x"`)
	for _, name := range seedEnvelopes {
		f.Add("evt-2", "L-2", "123-ABC-456", false, ``, `{"email":"a@b"}`, `200`, mustReadString(f, "envelopes/"+name), `null`)
	}
	f.Add("evt-3", "L-3", "sub", false, `"x":[1,{"y":2}],`, `{"email":12345678901234567890}`, `null`,
		`{"marketoResponse":"{\"errors\":[{\"code\":606}]}","handleTimeout":"true","errors":["a"]}`, `[]`)
	f.Fuzz(func(t *testing.T, eventID, leadID, sub string, push bool, params, record, status, response, extra string) {
		endpoint := EndpointSyncLeads
		if push {
			endpoint = EndpointPushLead
		}
		var b strings.Builder
		b.WriteString(`{"eventId":` + quote(eventID) + `,"leadId":` + quote(leadID) + `,"subscription":` + quote(sub))
		b.WriteString(`,"endpoint":` + quote(endpoint) + `,"requestContent":{` + params + `"input":[` + record + `]}`)
		b.WriteString(`,"responseStatusCode":` + status + `,"response":` + response + `,"dapRow":` + extra + `}`)
		checkBody(t, []byte(b.String()), sub)
	})
}

var seedEnvelopes = []string{"seed000-success.json", "seed000-failure-1006.json", "seed003-response-level-601.json", "seed003-record-level-1005.json"}

func mustReadString(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// subjectFor picks the subject an event arrives on: none (as repostctl
// decodes), its own subscription, or another one.
func subjectFor(data []byte, mode uint8) string {
	switch mode % 3 {
	case 1:
		return peekString(data, "subscription")
	case 2:
		return "999-XYZ-000"
	}
	return ""
}

func subjectModeOf(data []byte, sub string) uint8 {
	switch sub {
	case "":
		return 0
	case peekString(data, "subscription"):
		return 1
	}
	return 2
}

// checkBody is what both fuzz targets check for one body.
func checkBody(t *testing.T, data []byte, sub string) {
	e, err := DecodeEvent(data, sub)
	if err != nil {
		checkRejection(t, e, err)
	} else {
		checkAccepted(t, e, sub)
	}
	checkParkable(t, data, e)
}

func checkRejection(t *testing.T, e *Event, err error) {
	var ie *InvalidEventError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v is a %T, not an *InvalidEventError", err, err)
	}
	if e != nil || ie.Reason == "" || !strings.HasPrefix(err.Error(), "invalid event: ") {
		t.Fatalf("rejection: event %v, error %q", e, err)
	}
}

func checkAccepted(t *testing.T, e *Event, sub string) {
	switch {
	case idProblem(e.EventID) != "", idProblem(e.LeadID) != "", subscriptionProblem(e.Subscription) != "":
		t.Fatalf("accepted bad IDs: %q %q %q", e.EventID, e.LeadID, e.Subscription)
	case sub != "" && e.Subscription != sub:
		t.Fatalf("accepted subscription %q on subject %q", e.Subscription, sub)
	case e.Endpoint != EndpointSyncLeads && e.Endpoint != EndpointPushLead:
		t.Fatalf("accepted endpoint %q", e.Endpoint)
	case len(e.RequestContent.Input) == 0:
		t.Fatal("accepted an empty input")
	case e.Endpoint == EndpointPushLead && e.RequestContent.ProgramName() == "":
		t.Fatal("accepted a Push Lead without programName")
	}
	f := e.Failure()
	if f.Code != "" {
		if _, err := policy.ParseCode(string(f.Code)); err != nil || (len(f.Codes) > 0 && f.Codes[0] != f.Code) {
			t.Fatalf("failure %+v: %v", f, err)
		}
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	again, err := DecodeEvent(out, sub)
	if len(out) > MaxEventBytes {
		// encoding/json escapes <, > and &: a re-encoding can outgrow the limit.
		var ie *InvalidEventError
		if !errors.As(err, &ie) || ie.Field != "" {
			t.Fatalf("re-encoding of %d bytes: %v", len(out), err)
		}
		return
	}
	if err != nil {
		t.Fatalf("re-decoding %s: %v", out, err)
	}
	if !eventsEqual(e, again) {
		t.Fatalf("round trip changed the event:\n%#v\n%#v", e, again)
	}
	if out2, err := json.Marshal(again); err != nil || !bytes.Equal(out, out2) {
		t.Fatalf("second encoding differs (%v):\n%s\n%s", err, out, out2)
	}
	if f2 := again.Failure(); !reflect.DeepEqual(f, f2) {
		t.Fatalf("Failure changed on round trip: %+v, %+v", f, f2)
	}
}

func checkParkable(t *testing.T, data []byte, e *Event) {
	info := ParkInfo{Code: policy.CodeInvalid, Reason: "fuzz", Attempts: 1,
		ParkedAt: time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC), LastResponse: json.RawMessage(`{"x":1}`)}
	entry, err := NewParkedLeadFor(data, "nats-msg-id", info)
	if err != nil {
		t.Fatalf("NewParkedLeadFor: %v", err)
	}
	p, err := DecodeParkedLead(entry)
	if err != nil {
		t.Fatalf("DecodeParkedLead(%q): %v", entry, err)
	}
	if !bytes.Equal(p.Original, data) {
		t.Fatalf("parked original differs:\n%q\n%q", p.Original, data)
	}
	if !reflect.DeepEqual(p.Parked, info) {
		t.Fatalf("park block = %+v, want %+v", p.Parked, info)
	}
	if idProblem(p.EventID) != "" || subscriptionProblem(p.Subscription) != "" && p.Subscription != UnknownSubscription {
		t.Fatalf("parked lead named %q under %q", p.EventID, p.Subscription)
	}
	if e != nil && (p.Event == nil || !eventsEqual(e, p.Event)) {
		t.Fatalf("parked event = %+v (%v), want %+v", p.Event, p.EventErr, e)
	}
	if e != nil { // parking the decoded event gives the same entry, unread
		byBody, err := NewParkedLeadWithin(data, "nats-msg-id", e.Subscription, info, MaxParkedBytes)
		if err != nil {
			t.Fatalf("NewParkedLeadWithin: %v", err)
		}
		if byEvent, err := NewParkedEventWithin(e, e.Subscription, info, MaxParkedBytes); err != nil || !bytes.Equal(byEvent, byBody) {
			t.Fatalf("NewParkedEventWithin (%v):\n%s\nNewParkedLeadWithin:\n%s", err, byEvent, byBody)
		}
	}
}
