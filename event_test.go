package repost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/strictjson"
	"github.com/leadops/repost/policy"
)

const omit = "\x00omit"

// baseEvent is a minimal valid Sync Leads event, field by field.
var baseEvent = [][2]string{
	{"eventId", `"evt-1"`},
	{"leadId", `"L-1"`},
	{"subscription", `"123-ABC-456"`},
	{"endpoint", `"/rest/v1/leads.json"`},
	{"requestContent", `{"input":[{"email":"a@example.com"}]}`},
}

// ev returns baseEvent with keys set to raw JSON (omit removes a key; a new
// key is appended).
func ev(kv ...string) []byte {
	fields := append([][2]string(nil), baseEvent...)
	for i := 0; i+1 < len(kv); i += 2 {
		key, raw, found := kv[i], kv[i+1], false
		for j := range fields {
			if fields[j][0] == key {
				fields[j][1], found = raw, true
			}
		}
		if !found {
			fields = append(fields, [2]string{key, raw})
		}
	}
	var b strings.Builder
	b.WriteString("{")
	n := 0
	for _, f := range fields {
		if f[1] == omit {
			continue
		}
		if n > 0 {
			b.WriteString(",")
		}
		n++
		b.WriteString(`"` + f[0] + `":` + f[1])
	}
	b.WriteString("}")
	return []byte(b.String())
}

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustDecode(tb testing.TB, data []byte) *Event {
	tb.Helper()
	e, err := DecodeEvent(data, "")
	if err != nil {
		tb.Fatalf("DecodeEvent(%s): %v", truncate(string(data), 200), err)
	}
	return e
}

type decodeCase struct {
	name    string
	data    []byte
	sub     string
	wantErr *InvalidEventError // nil: accepted; Reason is a substring
}

// decodeCases has a row for every rule of DecodeEvent; the fuzz target seeds
// its corpus with them.
func decodeCases() []decodeCase {
	huge := ev("sourceId", `"`+strings.Repeat("x", MaxEventBytes)+`"`)
	return []decodeCase{
		{name: "minimal sync leads", data: ev()},
		{name: "subject matches", data: ev(), sub: "123-ABC-456"},
		{name: "push lead with programName", data: ev("endpoint", `"/rest/v1/leads/push.json"`,
			"requestContent", `{"programName":"MarketoTestProgram1","programStatus":"","source":null,"input":[{"email":"a@example.com"}]}`)},
		{name: "optional fields null", data: ev("sourceId", "null", "responseStatusCode", "null", "responseReason", "null", "response", "null", "attemptedAt", "null")},
		{name: "quoted status code", data: ev("responseStatusCode", `"1006"`)},
		{name: "blank status code", data: ev("responseStatusCode", `""`)},
		{name: "response as a JSON string", data: ev("response", `"{\"marketoResponse\":{}}"`)},
		{name: "unknown keys kept", data: ev("postOutId", `{"a":[1,2]}`, "EventId", `"other"`)},
		{name: "over 1 MiB", data: huge, wantErr: &InvalidEventError{"", "over the limit"}},
		{name: "invalid UTF-8", data: []byte("{\"eventId\":\"\xff\"}"), wantErr: &InvalidEventError{"", "UTF-8"}},
		{name: "empty body", data: nil, wantErr: &InvalidEventError{"", "not valid JSON"}},
		{name: "not JSON", data: []byte("eventId=1"), wantErr: &InvalidEventError{"", "not valid JSON"}},
		{name: "array", data: []byte(`[{"eventId":"e"}]`), wantErr: &InvalidEventError{"", "must be a JSON object, got array"}},
		{name: "string", data: []byte(`"evt"`), wantErr: &InvalidEventError{"", "got string"}},
		{name: "truncated", data: ev()[:40], wantErr: &InvalidEventError{"", "not valid JSON"}},
		{name: "trailing data", data: append(ev(), []byte(` {}`)...), wantErr: &InvalidEventError{"", "after the JSON object"}},
		{name: "long duplicate key is shortened", data: ev(strings.Repeat("k", 5000), `1,"`+strings.Repeat("k", 5000)+`":2`), wantErr: &InvalidEventError{strings.Repeat("k", 64) + "…", "duplicate key"}},
		{name: "duplicate top-level key", data: ev("leadId", `"L-1","leadId":"L-2"`), wantErr: &InvalidEventError{"leadId", "duplicate key"}},
		{name: "missing eventId", data: ev("eventId", omit), wantErr: &InvalidEventError{"eventId", "missing"}},
		{name: "eventId in another case is not eventId", data: ev("eventId", omit, "EventId", `"e"`), wantErr: &InvalidEventError{"eventId", "missing"}},
		{name: "missing leadId", data: ev("leadId", omit), wantErr: &InvalidEventError{"leadId", "missing"}},
		{name: "missing subscription", data: ev("subscription", omit), wantErr: &InvalidEventError{"subscription", "missing"}},
		{name: "missing endpoint", data: ev("endpoint", omit), wantErr: &InvalidEventError{"endpoint", "missing"}},
		{name: "missing requestContent", data: ev("requestContent", omit), wantErr: &InvalidEventError{"requestContent", "missing"}},
		{name: "eventId a number", data: ev("eventId", `7`), wantErr: &InvalidEventError{"eventId", "must be a string, got number"}},
		{name: "eventId empty", data: ev("eventId", `""`), wantErr: &InvalidEventError{"eventId", "must not be empty"}},
		{name: "eventId null", data: ev("eventId", `null`), wantErr: &InvalidEventError{"eventId", "must not be empty"}},
		{name: "eventId with a newline", data: ev("eventId", `"e\r\nX-Bad: 1"`), wantErr: &InvalidEventError{"eventId", "control characters"}},
		{name: "eventId too long", data: ev("eventId", `"`+strings.Repeat("e", MaxIDBytes+1)+`"`), wantErr: &InvalidEventError{"eventId", "longer than"}},
		{name: "leadId a number", data: ev("leadId", `1001`), wantErr: &InvalidEventError{"leadId", "must be a string, got number"}},
		{name: "leadId empty", data: ev("leadId", `""`), wantErr: &InvalidEventError{"leadId", "must not be empty"}},
		{name: "sourceId an object", data: ev("sourceId", `{}`), wantErr: &InvalidEventError{"sourceId", "must be a string, got object"}},
		{name: "subscription empty", data: ev("subscription", `""`), wantErr: &InvalidEventError{"subscription", "must not be empty"}},
		{name: "subscription reserved", data: ev("subscription", `"_"`), wantErr: &InvalidEventError{"subscription", "reserved"}},
		{name: "subscription with a dot", data: ev("subscription", `"a.b"`), wantErr: &InvalidEventError{"subscription", "subject token"}},
		{name: "subscription wildcard", data: ev("subscription", `">"`), wantErr: &InvalidEventError{"subscription", "subject token"}},
		{name: "subscription differs from subject", data: ev(), sub: "999-XYZ-000", wantErr: &InvalidEventError{"subscription", `does not match the subject's "999-XYZ-000"`}},
		{name: "endpoint unknown", data: ev("endpoint", `"/rest/v1/leads/delete.json"`), wantErr: &InvalidEventError{"endpoint", "is neither"}},
		{name: "endpoint empty", data: ev("endpoint", `""`), wantErr: &InvalidEventError{"endpoint", "must not be empty"}},
		{name: "endpoint full URL", data: ev("endpoint", `"https://x.mktorest.com/rest/v1/leads.json"`), wantErr: &InvalidEventError{"endpoint", "is neither"}},
		{name: "endpoint a number", data: ev("endpoint", `1`), wantErr: &InvalidEventError{"endpoint", "must be a string"}},
		{name: "push lead without programName", data: ev("endpoint", `"/rest/v1/leads/push.json"`), wantErr: &InvalidEventError{"requestContent.programName", "Push Lead requires it"}},
		{name: "push lead with empty programName", data: ev("endpoint", `"/rest/v1/leads/push.json"`, "requestContent", `{"programName":"","input":[{"email":"a@b"}]}`), wantErr: &InvalidEventError{"requestContent.programName", "missing"}},
		{name: "requestContent an array", data: ev("requestContent", `[{"email":"a@b"}]`), wantErr: &InvalidEventError{"requestContent", "must be a JSON object, got array"}},
		{name: "requestContent a string", data: ev("requestContent", `"{\"input\":[]}"`), wantErr: &InvalidEventError{"requestContent", "got string"}},
		{name: "requestContent null", data: ev("requestContent", `null`), wantErr: &InvalidEventError{"requestContent", "got null"}},
		{name: "input missing", data: ev("requestContent", `{"action":"createOnly"}`), wantErr: &InvalidEventError{"requestContent.input", "missing"}},
		{name: "input empty", data: ev("requestContent", `{"input":[]}`), wantErr: &InvalidEventError{"requestContent.input", "must not be empty"}},
		{name: "input an object", data: ev("requestContent", `{"input":{"email":"a@b"}}`), wantErr: &InvalidEventError{"requestContent.input", "must be an array, got object"}},
		{name: "input null", data: ev("requestContent", `{"input":null}`), wantErr: &InvalidEventError{"requestContent.input", "must be an array, got null"}},
		{name: "input record a string", data: ev("requestContent", `{"input":[{"email":"a@b"},"c@d"]}`), wantErr: &InvalidEventError{"requestContent.input[1]", "must be an object, got string"}},
		{name: "input record an array", data: ev("requestContent", `{"input":[["email","a@b"]]}`), wantErr: &InvalidEventError{"requestContent.input[0]", "must be an object, got array"}},
		{name: "input record a number", data: ev("requestContent", `{"input":[1.5]}`), wantErr: &InvalidEventError{"requestContent.input[0]", "must be an object, got number"}},
		{name: "input record duplicate key", data: ev("requestContent", `{"input":[{"email":"a@b","email":"c@d"}]}`), wantErr: &InvalidEventError{"requestContent.input[0].email", "duplicate key"}},
		{name: "input nested duplicate key", data: ev("requestContent", `{"input":[{"a":{"b":1,"b":2}}]}`), wantErr: &InvalidEventError{"requestContent.input[0].a.b", "duplicate key"}},
		{name: "input nested too deep", data: ev("requestContent", `{"input":[{"a":`+strings.Repeat("[", 300)+strings.Repeat("]", 300)+`}]}`), wantErr: &InvalidEventError{"requestContent.input[0].a" + strings.Repeat("[0]", strictjson.MaxDepth-1), "nested deeper"}},
		{name: "duplicate param", data: ev("requestContent", `{"action":"createOnly","action":"updateOnly","input":[{}]}`), wantErr: &InvalidEventError{"requestContent.action", "duplicate key"}},
		{name: "duplicate input", data: ev("requestContent", `{"input":[{}],"input":[{}]}`), wantErr: &InvalidEventError{"requestContent.input", "duplicate key"}},
		{name: "action unknown", data: ev("requestContent", `{"action":"upsert","input":[{}]}`), wantErr: &InvalidEventError{"requestContent.action", "is not one of"}},
		{name: "action a number", data: ev("requestContent", `{"action":1,"input":[{}]}`), wantErr: &InvalidEventError{"requestContent.action", "must be a string, got number"}},
		{name: "lookupField an array", data: ev("requestContent", `{"lookupField":["email"],"input":[{}]}`), wantErr: &InvalidEventError{"requestContent.lookupField", "must be a string, got array"}},
		{name: "programStatus a number", data: ev("requestContent", `{"programStatus":5,"input":[{}]}`), wantErr: &InvalidEventError{"requestContent.programStatus", "must be a string"}},
		{name: "asyncProcessing a string", data: ev("requestContent", `{"asyncProcessing":"true","input":[{}]}`), wantErr: &InvalidEventError{"requestContent.asyncProcessing", "must be a boolean, got string"}},
		{name: "status code a word", data: ev("responseStatusCode", `"timeout"`), wantErr: &InvalidEventError{"responseStatusCode", "not a status code"}},
		{name: "status code negative", data: ev("responseStatusCode", `-1`), wantErr: &InvalidEventError{"responseStatusCode", "not a status code"}},
		{name: "status code fractional", data: ev("responseStatusCode", `200.5`), wantErr: &InvalidEventError{"responseStatusCode", "not a status code"}},
		{name: "status code huge", data: ev("responseStatusCode", `1000000`), wantErr: &InvalidEventError{"responseStatusCode", "not a status code"}},
		{name: "status code boolean", data: ev("responseStatusCode", `true`), wantErr: &InvalidEventError{"responseStatusCode", "must be a number, got boolean"}},
		{name: "responseReason a number", data: ev("responseReason", `5`), wantErr: &InvalidEventError{"responseReason", "must be a string"}},
		{name: "response a number", data: ev("response", `5`), wantErr: &InvalidEventError{"response", "must be an object, got number"}},
		{name: "response an array", data: ev("response", `[]`), wantErr: &InvalidEventError{"response", "got array"}},
		{name: "attemptedAt not a time", data: ev("attemptedAt", `"yesterday"`), wantErr: &InvalidEventError{"attemptedAt", "RFC 3339"}},
		{name: "attemptedAt a number", data: ev("attemptedAt", `1763892000`), wantErr: &InvalidEventError{"attemptedAt", "got number"}},
	}
}

func TestDecodeEventRules(t *testing.T) {
	for _, tt := range decodeCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEvent(tt.data, tt.sub)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("DecodeEvent: %v", err)
				}
				if got == nil {
					t.Fatal("DecodeEvent returned nil without an error")
				}
				return
			}
			var ie *InvalidEventError
			if !errors.As(err, &ie) {
				t.Fatalf("DecodeEvent error = %v (%T), want *InvalidEventError", err, err)
			}
			if got != nil {
				t.Errorf("DecodeEvent returned an event with error %v", err)
			}
			if ie.Field != tt.wantErr.Field || !strings.Contains(ie.Reason, tt.wantErr.Reason) {
				t.Errorf("error = {%q, %q}, want field %q with a reason containing %q", ie.Field, ie.Reason, tt.wantErr.Field, tt.wantErr.Reason)
			}
		})
	}
}

func TestInvalidEventErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *InvalidEventError
		want string
	}{
		{name: "field", err: &InvalidEventError{"leadId", "missing"}, want: `invalid event: field "leadId": missing`},
		{name: "body", err: &InvalidEventError{"", "body is not valid UTF-8"}, want: `invalid event: body is not valid UTF-8`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: Error() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDecodeContractExample(t *testing.T) {
	e, err := DecodeEvent(mustRead(t, "contract-event.json"), "123-ABC-456")
	if err != nil {
		t.Fatal(err)
	}
	want := &Event{
		EventID: "evt-7f3a", LeadID: "L-1001", SourceID: "S-77", Subscription: "123-ABC-456",
		Endpoint:           EndpointSyncLeads,
		ResponseStatusCode: "1006", ResponseReason: "Field 'role' not found",
		AttemptedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
	}
	got := *e
	got.RequestContent, got.Response, got.src = RequestContent{}, nil, source{}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("event = %+v, want %+v", got, *want)
	}
	rc := e.RequestContent
	if rc.Action() != "createOrUpdate" || rc.LookupField() != "email" || rc.LookupValue(0) != "a@example.com" {
		t.Errorf("request content = %s/%s/%s", rc.Action(), rc.LookupField(), rc.LookupValue(0))
	}
	if !reflect.DeepEqual(rc.Input, []Record{{"email": "a@example.com", "role": "CTO"}}) {
		t.Errorf("input = %v", rc.Input)
	}
	f := e.Failure()
	if f.Code != "1006" || f.Message != "Field 'role' not found" || f.Timeout || f.HTTPStatus != 0 {
		t.Errorf("failure = %+v", f)
	}
}

func TestEventKeepsUnknownKeys(t *testing.T) {
	data := ev("postOutId", `{ "a" : [1, 2.50] }`, "EventId", `"other"`, "parked", `null`)
	e := mustDecode(t, data)
	want := map[string]json.RawMessage{
		"postOutId": json.RawMessage(`{"a":[1,2.50]}`),
		"EventId":   json.RawMessage(`"other"`),
		"parked":    json.RawMessage(`null`),
	}
	if !reflect.DeepEqual(e.Extra, want) {
		t.Errorf("Extra = %s, want %s", e.Extra, want)
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"postOutId":{"a":[1,2.50]}`, `"EventId":"other"`, `"parked":null`} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("re-encoded event %s lacks %s", out, s)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	inputs := [][]byte{
		mustRead(t, "contract-event.json"),
		ev("sourceId", `"S-1"`, "responseStatusCode", `"413"`, "responseReason", `"Request Entity Too Large"`,
			"attemptedAt", `"2026-03-08T02:30:00.123456789-05:00"`, "zzz", `[true,false,null]`),
		ev("endpoint", `"/rest/v1/leads/push.json"`, "requestContent",
			`{"programName":"P <1> & \"2\"","reason":"é\u00e9","input":[{"email":"x@y","n":12345678901234567890,"p":1.50,"e":-1E+400}]}`),
	}
	for i, data := range inputs {
		e := mustDecode(t, data)
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("%d: Marshal: %v", i, err)
		}
		again := mustDecode(t, out)
		if !eventsEqual(e, again) {
			t.Errorf("%d: round trip changed the event:\n got %+v\nwant %+v", i, again, e)
		}
		out2, _ := json.Marshal(again)
		if !bytes.Equal(out, out2) {
			t.Errorf("%d: second encoding differs:\n%s\n%s", i, out, out2)
		}
	}
}

// eventsEqual compares events, AttemptedAt as an instant, request contents
// by their decoded values (contentEqual).
func eventsEqual(a, b *Event) bool {
	x, y := *a, *b
	if !x.AttemptedAt.Equal(y.AttemptedAt) || !contentEqual(x.RequestContent, y.RequestContent) {
		return false
	}
	x.AttemptedAt, y.AttemptedAt = time.Time{}, time.Time{}
	x.RequestContent, y.RequestContent = RequestContent{}, RequestContent{}
	x.src, y.src = source{}, source{} // the bytes each was decoded from
	return reflect.DeepEqual(x, y)
}

// contentEqual compares request contents by Params and Input, and their raw
// records by their values: RawInput keeps the key order of the bytes it was
// decoded from, which a re-encoding (keys sorted) does not.
func contentEqual(a, b RequestContent) bool {
	if !reflect.DeepEqual(a.Params, b.Params) || !reflect.DeepEqual(a.Input, b.Input) || len(a.rawInput) != len(b.rawInput) {
		return false
	}
	for i := range a.rawInput {
		var x, y any
		dx, dy := json.NewDecoder(bytes.NewReader(a.rawInput[i])), json.NewDecoder(bytes.NewReader(b.rawInput[i]))
		dx.UseNumber()
		dy.UseNumber()
		if dx.Decode(&x) != nil || dy.Decode(&y) != nil || !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func TestEventUnmarshalJSON(t *testing.T) {
	var e Event
	if err := json.Unmarshal(ev(), &e); err != nil || e.EventID != "evt-1" {
		t.Fatalf("Unmarshal = %v, %+v", err, e)
	}
	var ie *InvalidEventError
	if err := json.Unmarshal(ev("leadId", omit), &e); !errors.As(err, &ie) || ie.Field != "leadId" {
		t.Fatalf("Unmarshal of an invalid event = %v", err)
	}
}

func TestEventStatusCodeForms(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want policy.Code
	}{
		{name: "number", raw: `1006`, want: "1006"},
		{name: "quoted", raw: `"606"`, want: "606"},
		{name: "quoted with spaces", raw: `" 413 "`, want: "413"},
		{name: "zero", raw: `0`, want: "0"},
		{name: "null", raw: `null`, want: ""},
	}
	for _, tt := range tests {
		e := mustDecode(t, ev("responseStatusCode", tt.raw))
		if e.ResponseStatusCode != tt.want {
			t.Errorf("%s: ResponseStatusCode = %q, want %q", tt.name, e.ResponseStatusCode, tt.want)
		}
	}
}

func ExampleDecodeEvent() {
	body := []byte(`{"eventId": "evt-7f3a", "leadId": "L-1001", "subscription": "123-ABC-456",
	  "endpoint": "/rest/v1/leads/push.json",
	  "requestContent": {"programName": "MarketoTestProgram1", "input": [{"email": "a@example.com", "score": 1.50}]},
	  "responseStatusCode": 1006, "responseReason": "Field 'role' not found"}`)
	e, err := DecodeEvent(body, "123-ABC-456")
	if err != nil {
		fmt.Println(err)
		return
	}
	f := e.Failure()
	fmt.Println(e.RequestContent.ProgramName(), e.RequestContent.LookupValue(0), f.Code, f.Message)
	in, _ := e.RequestContent.InputJSON()
	fmt.Println(string(in[0]))

	_, err = DecodeEvent([]byte(`{"eventId": "evt-1"}`), "")
	var ie *InvalidEventError
	fmt.Println(errors.As(err, &ie), err)
	// Output:
	// MarketoTestProgram1 a@example.com 1006 Field 'role' not found
	// {"email":"a@example.com","score":1.50}
	// true invalid event: field "leadId": missing
}

func BenchmarkDecodeEvent(b *testing.B) {
	var records []string
	for i := 0; len(strings.Join(records, ",")) < MaxEventBytes-4096; i++ {
		records = append(records, `{"email":"lead`+strings.Repeat("x", 20)+`@example.com","score":12345678901234567890,"price":1.50,"tags":["a","b"],"n":{"k":true}}`)
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"contract example", mustRead(b, "contract-event.json")},
		{"1 MiB of records", ev("requestContent", `{"input":[`+strings.Join(records, ",")+`]}`)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if _, err := DecodeEvent(c.data, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestEventMarshalRefusesBrokenRaw(t *testing.T) {
	e := mustDecode(t, ev())
	e.Extra = map[string]json.RawMessage{"x": json.RawMessage(`{`)}
	if _, err := json.Marshal(e); err == nil {
		t.Error("an Extra value that is not JSON was encoded")
	}
	e.Extra = nil
	e.RequestContent.Params = map[string]json.RawMessage{"programName": json.RawMessage(`nope`)}
	if _, err := json.Marshal(e); err == nil {
		t.Error("a parameter that is not JSON was encoded")
	}
}

// BenchmarkDecodeFixture decodes and reads the failure of the event the
// end-to-end benchmark (cmd/repostbench) publishes: the worker's per-event
// CPU cost before any call.
func BenchmarkDecodeFixture(b *testing.B) {
	data := fixture.Build(7, fixture.KindOK, time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC), fixture.Sub).Data
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeEvent(data, fixture.Sub); err != nil {
				b.Fatal(err)
			}
		}
	})
	e, err := DecodeEvent(data, fixture.Sub)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("failure", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f := e.Failure(); f.Code == "" {
				b.Fatal("no code")
			}
		}
	})
}

// requeueOf, which repostctl requeue adds, is the event's RequeueOf: read
// from a non-empty string, written back, and not also kept in Extra;
// anything else under that key stays an unknown key, kept verbatim.
func TestEventRequeueOf(t *testing.T) {
	e, err := DecodeEvent(ev("requeueOf", `"evt-1"`), "")
	if err != nil {
		t.Fatal(err)
	}
	if e.RequeueOf != "evt-1" || !e.IsRequeue() || e.Extra["requeueOf"] != nil {
		t.Fatalf("RequeueOf %q, IsRequeue %v, Extra %s", e.RequeueOf, e.IsRequeue(), e.Extra["requeueOf"])
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(out, []byte(`"requeueOf":"evt-1"`)) != 1 {
		t.Fatalf("encoding %s: want requeueOf once", out)
	}
	if again, err := DecodeEvent(out, ""); err != nil || !eventsEqual(e, again) {
		t.Fatalf("round trip: %v", err)
	}
	e.Extra = map[string]json.RawMessage{"requeueOf": []byte(`"stale"`)} // set by hand: the field wins
	if out, _ := json.Marshal(e); bytes.Count(out, []byte(`"requeueOf"`)) != 1 {
		t.Fatalf("encoding with a stale Extra %s: want requeueOf once", out)
	}
	for _, raw := range []string{`""`, `7`, `null`, `{"a":1}`} {
		e, err := DecodeEvent(ev("requeueOf", raw), "")
		if err != nil {
			t.Fatalf("requeueOf %s: %v", raw, err)
		}
		if e.RequeueOf != "" || e.IsRequeue() || string(e.Extra["requeueOf"]) != raw {
			t.Errorf("requeueOf %s: RequeueOf %q, Extra %s", raw, e.RequeueOf, e.Extra["requeueOf"])
		}
	}
}
