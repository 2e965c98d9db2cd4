package repost

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func mustRequestContent(tb testing.TB, s string) *RequestContent {
	tb.Helper()
	rc, err := ParseRequestContent([]byte(s))
	if err != nil {
		tb.Fatalf("ParseRequestContent(%s): %v", s, err)
	}
	return rc
}

func TestRequestContentKeepsNumbersAndKeys(t *testing.T) {
	in := `{"programName": "MarketoTestProgram1", "custom": {"b": 1.0, "a": [1, 2e3]},
	        "input": [{"email": "a@example.com", "big": 12345678901234567890, "price": 1.50,
	                   "tiny": -0.000001e-7, "nested": {"score": 100.00, "tags": ["x", 3.0]}, "none": null, "ok": true}]}`
	rc := mustRequestContent(t, in)
	rec := rc.Input[0]
	for key, want := range map[string]json.Number{"big": "12345678901234567890", "price": "1.50", "tiny": "-0.000001e-7"} {
		if got, ok := rec[key].(json.Number); !ok || got != want {
			t.Errorf("input[0].%s = %#v, want json.Number(%s)", key, rec[key], want)
		}
	}
	out, err := json.Marshal(rc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"custom":{"b":1.0,"a":[1,2e3]},"programName":"MarketoTestProgram1","input":[{"big":12345678901234567890,"email":"a@example.com","nested":{"score":100.00,"tags":["x",3.0]},"none":null,"ok":true,"price":1.50,"tiny":-0.000001e-7}]}`
	if string(out) != want {
		t.Errorf("MarshalJSON =\n%s\nwant\n%s", out, want)
	}
	again := mustRequestContent(t, string(out))
	if !contentEqual(*again, *rc) {
		t.Errorf("round trip changed the content:\n%#v\n%#v", again, rc)
	}
	leads, err := rc.InputJSON()
	if err != nil || len(leads) != 1 || !strings.Contains(string(leads[0]), `"big":12345678901234567890,`) || !strings.Contains(string(leads[0]), `"price":1.50,`) {
		t.Errorf("InputJSON = %s, %v", leads, err)
	}
}

func TestRequestContentAccessors(t *testing.T) {
	type want struct {
		action, lookupField, partition, program, status, source, reason string
		lookup0                                                         string
	}
	tests := []struct {
		name string
		in   string
		want want
	}{
		{
			name: "defaults",
			in:   `{"input":[{"email":"a@example.com"}]}`,
			want: want{action: "createOrUpdate", lookupField: "email", lookup0: "a@example.com"},
		},
		{
			name: "nulls and blanks are defaults",
			in:   `{"action":null,"lookupField":"","programStatus":null,"input":[{"email":"a@example.com"}]}`,
			want: want{action: "createOrUpdate", lookupField: "email", lookup0: "a@example.com"},
		},
		{
			name: "sync leads, all set",
			in:   `{"action":"createOnly","lookupField":"externalId","partitionName":"EMEA","input":[{"externalId":12345678901234567890}]}`,
			want: want{action: "createOnly", lookupField: "externalId", partition: "EMEA", lookup0: "12345678901234567890"},
		},
		{
			name: "push lead routing (seed 000)",
			in:   `{"programName":"MarketoTestProgram1","programStatus":"Registered","source":"DAP","reason":"Webinar","input":[{"email":"b@example.com"}]}`,
			want: want{action: "createOrUpdate", lookupField: "email", program: "MarketoTestProgram1", status: "Registered", source: "DAP", reason: "Webinar", lookup0: "b@example.com"},
		},
		{name: "lookup value missing", in: `{"input":[{"firstName":"A"}]}`, want: want{action: "createOrUpdate", lookupField: "email"}},
		{name: "lookup value an object", in: `{"input":[{"email":{"x":1}}]}`, want: want{action: "createOrUpdate", lookupField: "email"}},
		{name: "lookup value a boolean", in: `{"lookupField":"flag","input":[{"flag":true}]}`, want: want{action: "createOrUpdate", lookupField: "flag", lookup0: "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := mustRequestContent(t, tt.in)
			got := want{rc.Action(), rc.LookupField(), rc.PartitionName(), rc.ProgramName(), rc.ProgramStatus(), rc.Source(), rc.Reason(), rc.LookupValue(0)}
			if got != tt.want {
				t.Errorf("accessors = %+v, want %+v", got, tt.want)
			}
			if rc.LookupValue(-1) != "" || rc.LookupValue(len(rc.Input)) != "" {
				t.Error("LookupValue out of range is not empty")
			}
		})
	}
}

func TestRequestContentSetParam(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		v         any
		wantParam string // the raw JSON kept, "" for removed
		wantErr   string // the field of the *InvalidEventError
	}{
		{name: "program status", key: "programStatus", v: "Attended", wantParam: `"Attended"`},
		{name: "action", key: "action", v: "updateOnly", wantParam: `"updateOnly"`},
		{name: "unknown key, any value", key: "custom", v: map[string]any{"n": json.Number("1.50")}, wantParam: `{"n":1.50}`},
		{name: "raw JSON", key: "custom", v: json.RawMessage(` [1, 2.0] `), wantParam: `[1,2.0]`},
		{name: "remove", key: "programName", v: nil},
		{name: "wrong type", key: "programStatus", v: 3, wantErr: "requestContent.programStatus"},
		{name: "unknown action", key: "action", v: "upsert", wantErr: "requestContent.action"},
		{name: "input", key: "input", v: []any{}, wantErr: "requestContent.input"},
		{name: "empty key", key: "", v: "x", wantErr: "requestContent."},
		{name: "cannot encode", key: "custom", v: func() {}, wantErr: "requestContent.custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := mustRequestContent(t, `{"programName":"P","input":[{"email":"a@example.com"}]}`)
			err := rc.SetParam(tt.key, tt.v)
			if tt.wantErr != "" {
				var ie *InvalidEventError
				if !errors.As(err, &ie) || ie.Field != tt.wantErr {
					t.Fatalf("SetParam error = %v, want an *InvalidEventError on %q", err, tt.wantErr)
				}
				if string(rc.Params["programName"]) != `"P"` || len(rc.Params) != 1 {
					t.Errorf("a refused SetParam changed the params: %s", rc.Params)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			raw, ok := rc.Params[tt.key]
			if string(raw) != tt.wantParam || ok != (tt.wantParam != "") {
				t.Errorf("Params[%q] = %s (present %v), want %s", tt.key, raw, ok, tt.wantParam)
			}
			if _, err := ParseRequestContent(mustMarshal(t, rc)); err != nil {
				t.Errorf("content after SetParam does not decode: %v", err)
			}
		})
	}
}

func TestSetParamOnEmptyContent(t *testing.T) {
	var rc RequestContent
	if got := string(mustMarshal(t, rc)); got != `{"input":[]}` {
		t.Errorf("zero RequestContent encodes as %s", got)
	}
	if err := rc.SetParam("programStatus", "Member"); err != nil || rc.ProgramStatus() != "Member" {
		t.Fatalf("SetParam on a zero RequestContent: %v, %q", err, rc.ProgramStatus())
	}
}

func mustMarshal(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// RawInput keeps each record as it arrived (compacted, keys in their order,
// numbers as written): what a repost sends.
func TestRawInputKeepsRecordsAsSent(t *testing.T) {
	rc := mustRequestContent(t, `{"input":[ {"zeta": 1.50, "alpha":"x", "n": 12345678901234567890},{"email":"b@x.com"} ]}`)
	raw := rc.RawInput()
	if len(raw) != 2 || string(raw[0]) != `{"zeta":1.50,"alpha":"x","n":12345678901234567890}` || string(raw[1]) != `{"email":"b@x.com"}` {
		t.Fatalf("RawInput = %q", raw)
	}
	if (RequestContent{}).RawInput() != nil {
		t.Error("RawInput of a content not decoded from JSON")
	}
}
