package repost

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/leadops/repost/policy"
)

// withEnvelope returns an event whose response is the testdata envelope, as
// DAP logs it (outer envelope with marketoResponse) or, for the bare Marketo
// bodies of seed 003, wrapped as DAP would wrap them.
func envelopeEvent(tb testing.TB, file string, kv ...string) []byte {
	tb.Helper()
	env := strings.TrimSpace(string(mustRead(tb, "envelopes/"+file)))
	return ev(append([]string{"response", env}, kv...)...)
}

func wrapped(tb testing.TB, file string) string {
	tb.Helper()
	body := strings.TrimSpace(string(mustRead(tb, "envelopes/"+file)))
	return `{"marketoResponse": ` + body + `, "errors": [], "endpoint": "/rest/v1/leads.json", "handleTimeout": false, "failed": false}`
}

func TestFailure(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Failure
	}{
		{
			name: "seed 000 success envelope",
			data: envelopeEvent(t, "seed000-success.json", "responseStatusCode", "200", "responseReason", `"Accepted"`),
			want: Failure{Code: policy.CodeOK, HTTPStatus: 200},
		},
		{
			name: "seed 000 success envelope without a status code",
			data: envelopeEvent(t, "seed000-success.json"),
			want: Failure{Code: policy.CodeOK},
		},
		{
			name: "seed 000 failure envelope: record-level 1006",
			data: envelopeEvent(t, "seed000-failure-1006.json", "responseStatusCode", "1006"),
			want: Failure{Code: "1006", Codes: []policy.Code{"1006"}, Message: "Field 'role' not found"},
		},
		{
			name: "seed 003 response-level 601 inside marketoResponse",
			data: ev("response", wrapped(t, "seed003-response-level-601.json")),
			want: Failure{Code: "601", Codes: []policy.Code{"601"}, Message: "Unauthorized"},
		},
		{
			name: "seed 003 response-level 601 as a bare response",
			data: envelopeEvent(t, "seed003-response-level-601.json", "responseStatusCode", "200"),
			want: Failure{Code: "601", Codes: []policy.Code{"601"}, Message: "Unauthorized", HTTPStatus: 200},
		},
		{
			name: "seed 003 record-level 1005 inside marketoResponse",
			data: ev("response", wrapped(t, "seed003-record-level-1005.json")),
			want: Failure{Code: "1005", Codes: []policy.Code{"1005"}, Message: "Lead already exists"},
		},
		{
			name: "seed 003 record-level 1005 as a bare response",
			data: envelopeEvent(t, "seed003-record-level-1005.json"),
			want: Failure{Code: "1005", Codes: []policy.Code{"1005"}, Message: "Lead already exists"},
		},
		{
			name: "response-level before record-level before reasonCode",
			data: ev("response", `{"marketoResponse":{"success":false,
				"errors":[{"code":606,"message":"Max rate limit '100' exceeded with in '20' secs"}],
				"result":[{"status":"skipped","reasons":[{"code":"1006","message":"Field 'x' not found"}]},
				          {"status":"skipped","reasons":[{"code":"1006","message":"again"},{"code":"1001","message":"Invalid value 'x'. Required of type 'integer'"}]}],
				"reasonCode":{"reason":"Lead not found","statusCode":"1004"}}}`),
			want: Failure{Code: "606", Codes: []policy.Code{"606", "1006", "1001", "1004"}, Message: "Max rate limit '100' exceeded with in '20' secs"},
		},
		{
			name: "reasonCode alone",
			data: ev("response", `{"marketoResponse":{"reasonCode":{"reason":"Program status not found","statusCode":1025}}}`),
			want: Failure{Code: "1025", Codes: []policy.Code{"1025"}, Message: "Program status not found"},
		},
		{
			name: "code and errors on a result",
			data: ev("response", `{"marketoResponse":{"success":true,"result":[{"status":"skipped","code":"1037","message":"Lead skipped","errors":[{"code":"1003","message":"Invalid data"}]}]}}`),
			want: Failure{Code: "1037", Codes: []policy.Code{"1037", "1003"}, Message: "Lead skipped"},
		},
		{
			name: "marketoResponse held as a JSON string",
			data: ev("response", `{"marketoResponse":"{\"success\":false,\"errors\":[{\"code\":\"602\",\"message\":\"Access token expired\"}]}"}`),
			want: Failure{Code: "602", Codes: []policy.Code{"602"}, Message: "Access token expired"},
		},
		{
			name: "whole response held as a JSON string",
			data: ev("response", `"{\"marketoResponse\":{\"errors\":[{\"code\":\"615\",\"message\":\"Concurrent access limit reached\"}]}}"`),
			want: Failure{Code: "615", Codes: []policy.Code{"615"}, Message: "Concurrent access limit reached"},
		},
		{
			name: "handleTimeout without a Marketo answer",
			data: ev("response", `{"marketoResponse":null,"errors":["Read timed out"],"handleTimeout":true,"failed":true}`),
			want: Failure{Code: policy.CodeTimeout, Codes: []policy.Code{policy.CodeTimeout}, Message: "Read timed out", Timeout: true},
		},
		{
			name: "handleTimeout with the status DAP logged",
			data: ev("response", `{"handleTimeout":"true"}`, "responseStatusCode", "504", "responseReason", `"Gateway Timeout"`),
			want: Failure{Code: policy.CodeTimeout, Codes: []policy.Code{policy.CodeTimeout}, Message: "Gateway Timeout", Timeout: true, HTTPStatus: 504},
		},
		{
			name: "codes in the answer win over handleTimeout",
			data: ev("response", `{"marketoResponse":{"errors":[{"code":"604","message":"Request timed out"}]},"handleTimeout":true}`),
			want: Failure{Code: "604", Codes: []policy.Code{"604"}, Message: "Request timed out", Timeout: true},
		},
		{
			name: "HTTP 413 without an envelope",
			data: ev("responseStatusCode", "413", "responseReason", `"Request Entity Too Large"`),
			want: Failure{Code: "413", Codes: []policy.Code{"413"}, Message: "Request Entity Too Large", HTTPStatus: 413},
		},
		{name: "HTTP 401", data: ev("responseStatusCode", `"401"`), want: Failure{Code: "401", Codes: []policy.Code{"401"}, HTTPStatus: 401}},
		{name: "HTTP 414", data: ev("responseStatusCode", "414"), want: Failure{Code: "414", Codes: []policy.Code{"414"}, HTTPStatus: 414}},
		{name: "HTTP 502 quoted", data: ev("responseStatusCode", `"502"`, "responseReason", `"Bad Gateway"`), want: Failure{Code: "502", Codes: []policy.Code{"502"}, Message: "Bad Gateway", HTTPStatus: 502}},
		{name: "HTTP 503", data: ev("responseStatusCode", "503"), want: Failure{Code: "503", Codes: []policy.Code{"503"}, HTTPStatus: 503}},
		{
			name: "Marketo code as responseStatusCode",
			data: ev("responseStatusCode", "607", "responseReason", `"Daily quota reached"`),
			want: Failure{Code: "607", Codes: []policy.Code{"607"}, Message: "Daily quota reached"},
		},
		{
			name: "message falls back to responseReason",
			data: ev("response", `{"marketoResponse":{"errors":[{"code":"611"}]}}`, "responseReason", `"System error"`),
			want: Failure{Code: "611", Codes: []policy.Code{"611"}, Message: "System error"},
		},
		{
			name: "message falls back to the envelope's errors",
			data: ev("response", `{"marketoResponse":{"errors":[{"code":"611"}]},"errors":["", "System error"]}`),
			want: Failure{Code: "611", Codes: []policy.Code{"611"}, Message: "System error"},
		},
		{
			name: "what is not a code is ignored",
			data: ev("response", `{"marketoResponse":{"errors":[{"code":"abc"},{"code":0},{"code":-5},{"code":"6.5"},{"code":null},{"code":[601]},"601",7],
				"result":"nope","reasonCode":{"statusCode":"x"}}}`, "responseStatusCode", "502"),
			want: Failure{Code: "502", Codes: []policy.Code{"502"}, HTTPStatus: 502},
		},
		{
			name: "failed answer without a code falls back to the status",
			data: ev("response", `{"marketoResponse":{"success":false,"errors":[]}}`, "responseStatusCode", "1029"),
			want: Failure{Code: "1029", Codes: []policy.Code{"1029"}},
		},
		{name: "nothing to go on", data: ev(), want: Failure{}},
		{name: "status 0 names nothing", data: ev("responseStatusCode", "0"), want: Failure{}},
		{name: "unrelated response object", data: ev("response", `{"note":"x"}`), want: Failure{}},
		{name: "status 200 alone", data: ev("responseStatusCode", "200"), want: Failure{Code: policy.CodeOK, HTTPStatus: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustDecode(t, tt.data).Failure()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Failure() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSeedEnvelopesVerbatim guards the testdata against being "tidied": the
// envelopes are the seed documents' text, which is what the tests are about.
func TestSeedEnvelopesVerbatim(t *testing.T) {
	tests := []struct {
		file string
		want string // a fragment only the verbatim text has
	}{
		{"seed000-success.json", `{ "marketoResponse": { "requestId": "155b2#176052739da", "success": true, "result": [ { "id": 1146997,`},
		{"seed000-failure-1006.json", `"reasons": [ { "code": "1006", "message": "Field 'role' not found" } ]`},
		{"seed003-response-level-601.json", "{\n    \"requestId\": \"e42b#14272d07d78\",\n    \"success\": false,"},
		{"seed003-record-level-1005.json", "               \"code\":\"1005\",\n               \"message\":\"Lead already exists\""},
	}
	for _, tt := range tests {
		b := mustRead(t, "envelopes/"+tt.file)
		if !strings.Contains(string(b), tt.want) || !json.Valid(b) {
			t.Errorf("%s is not the seed's text", tt.file)
		}
	}
}
