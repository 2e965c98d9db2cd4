package repost

// The reading of Failure as first written, on encoding/json maps: the
// reference the member-scanning Failure is held to (TestFailureAgrees,
// FuzzFailure).

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/leadops/repost/internal/strictjson"
	"github.com/leadops/repost/policy"
)

// marketoFailureRef gathers codes from a Marketo response body.
type marketoFailureRef struct {
	codes    []policy.Code
	messages []string
	ok       bool // the body shows a success and names no code
}

func (m *marketoFailureRef) add(c policy.Code, msg string) {
	for _, have := range m.codes {
		if have == c {
			return
		}
	}
	m.codes = append(m.codes, c)
	m.messages = append(m.messages, msg)
}

// Failure extracts the failing code (CONTRACT §3). From response.marketoResponse
// when present (a bare Marketo body as response is read the same way):
// response-level errors[].code, then record-level result[].reasons[].code
// (and any code or errors[] on a result), then reasonCode.statusCode, where
// 200 means none. Then handleTimeout: true is policy.CodeTimeout. Else
// responseStatusCode, HTTP status or Marketo code alike, where 200 is
// success. Codes may be numbers or quoted numbers; what is not a code is
// ignored, as the envelope is DAP's log and read best-effort.
func failureRef(e *Event) Failure {
	var f Failure
	outer, body := splitResponseRef(e.Response)
	m := readMarketoRef(body)
	timeout := isTrueRef(outer["handleTimeout"])
	status, hasStatus := e.ResponseStatusCode.Number()
	if hasStatus && status >= 100 && status <= 599 {
		f.HTTPStatus = status
	}
	f.Timeout = timeout
	switch {
	case len(m.codes) > 0:
		f.Code, f.Codes, f.Message = m.codes[0], m.codes, m.messages[0]
	case timeout:
		f.Code, f.Codes = policy.CodeTimeout, []policy.Code{policy.CodeTimeout}
	case hasStatus && status != 200 && status != 0:
		f.Code, f.Codes = e.ResponseStatusCode, []policy.Code{e.ResponseStatusCode}
	case m.ok || (hasStatus && status == 200):
		f.Code = policy.CodeOK
	}
	if f.Message == "" && f.Code != policy.CodeOK && f.Code != "" {
		f.Message = e.ResponseReason
		if f.Message == "" {
			f.Message = firstStringRef(outer["errors"])
		}
	}
	return f
}

// splitResponseRef returns DAP's outer envelope and the Marketo body inside it.
// A response that is itself a Marketo body (requestId, success or result at
// the top) is both. A JSON string is read as the JSON text it holds.
func splitResponseRef(raw json.RawMessage) (outer, body map[string]json.RawMessage) {
	outer = asObjectRef(raw)
	if mr, ok := outer["marketoResponse"]; ok {
		return outer, asObjectRef(mr)
	}
	for _, k := range []string{"requestId", "success", "result"} {
		if _, ok := outer[k]; ok {
			return outer, outer
		}
	}
	return outer, nil
}

func readMarketoRef(body map[string]json.RawMessage) marketoFailureRef {
	var m marketoFailureRef
	if body == nil {
		return m
	}
	addCodedRef(&m, body["errors"])
	for _, r := range asArrayRef(body["result"]) {
		item := asObjectRef(r)
		addCodedRef(&m, item["reasons"])
		if c, ok := parseCodeRef(item["code"]); ok {
			m.add(c, stringOfRef(item["message"]))
		}
		addCodedRef(&m, item["errors"])
	}
	rc := asObjectRef(body["reasonCode"])
	c, ok := parseCodeRef(rc["statusCode"])
	if ok && c != "200" {
		m.add(c, stringOfRef(rc["reason"]))
	}
	m.ok = len(m.codes) == 0 && (c == "200" || isTrueRef(body["success"]))
	return m
}

// addCodedRef adds the codes of an array of {code, message} objects.
func addCodedRef(m *marketoFailureRef, raw json.RawMessage) {
	for _, item := range asArrayRef(raw) {
		obj := asObjectRef(item)
		if c, ok := parseCodeRef(obj["code"]); ok {
			m.add(c, stringOfRef(obj["message"]))
		}
	}
}

// parseCodeRef reads 1006 or "1006"; 0, negatives, fractions and names are not
// codes.
func parseCodeRef(raw json.RawMessage) (policy.Code, bool) {
	text := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", false
		}
		text = strings.TrimSpace(text)
	}
	n, err := strconv.Atoi(text)
	if err != nil || n <= 0 || n > 99999 {
		return "", false
	}
	return policy.CodeOf(n), true
}

func asObjectRef(raw json.RawMessage) map[string]json.RawMessage {
	raw = unwrapStringRef(raw)
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func asArrayRef(raw json.RawMessage) []json.RawMessage {
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		return nil
	}
	return a
}

// unwrapStringRef returns the JSON text a JSON string holds, or raw itself.
func unwrapStringRef(raw json.RawMessage) json.RawMessage {
	if strictjson.Kind(raw) != "string" {
		return raw
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return raw
	}
	return json.RawMessage(s)
}

func stringOfRef(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func firstStringRef(raw json.RawMessage) string {
	for _, item := range asArrayRef(raw) {
		if s := stringOfRef(item); s != "" {
			return s
		}
	}
	return ""
}

func isTrueRef(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "true", `"true"`:
		return true
	}
	return false
}

// failureResponses are responses to read: the seed envelopes and the shapes
// Failure's reading treats specially.
func failureResponses(tb testing.TB) []string {
	out := []string{
		``, `null`, `{}`, `[]`, `"x"`, `12`, `{`, `{"errors":[{"code":"606","message":"m"}]} x`,
		`{"marketoResponse":"{\"errors\":[{\"code\":606}]}","handleTimeout":"true","errors":["a"]}`,
		`{"marketoResponse":" {\"result\":[{\"status\":\"skipped\",\"reasons\":[{\"code\":\"1006\",\"message\":\"no \\u00e9\"}]}]} "}`,
		`"{\"requestId\":\"r\",\"success\":true}"`, `{"requestId":"r","success":"true"}`,
		`{"reasonCode":{"statusCode":200},"success":false}`, `{"reasonCode":{"statusCode":"413","reason":"too big"},"result":[]}`,
		`{"result":[{"code":1001,"message":"a"},{"errors":[{"code":1001},{"code":" 1003 "}]}],"errors":[{"code":0},{"code":-1},{"code":1.5},{"code":"x"}]}`,
		`{"handleTimeout":true,"errors":[1,"",null,"late"]}`, `{"marketoResponse":null,"errors":["e"]}`,
		`{"success":true,"success":false,"requestId":"r"}`, `{"marketoResponse":{"errors":[{"code":601}]},"marketoResponse":{"errors":[{"code":602}]}}`,
		` { "result" : [ { "reasons" : [ { "code" : 1006 , "message" : "\u0041\ud800" } ] } ] } `,
		"{\"errors\":[{\"code\":606,\"message\":\"\xff\xfe\"}],\"requestId\":\"r\"}",
	}
	files, _ := filepath.Glob("testdata/envelopes/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func checkFailureAgrees(t *testing.T, response []byte, status policy.Code, reason string) {
	e := &Event{Response: response, ResponseStatusCode: status, ResponseReason: reason}
	got, want := e.Failure(), failureRef(e)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Failure of %q (status %q):\n got  %+v\n want %+v", response, status, got, want)
	}
}

// Failure reads every response, well-formed or mutated, as the reference does.
func TestFailureAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, resp := range failureResponses(t) {
		for n := 0; n < 300; n++ {
			b := []byte(resp)
			if n > 0 {
				for k := 0; k < 1+r.IntN(3) && len(b) > 0; k++ {
					i := r.IntN(len(b))
					switch r.IntN(3) {
					case 0:
						b[i] = `{}[]",:\ 0169-."`[r.IntN(16)]
					case 1:
						b = append(b[:i], append([]byte{`{}[]",: 6`[r.IntN(9)]}, b[i:]...)...)
					default:
						b = append(b[:i], b[i+1:]...)
					}
				}
			}
			for _, st := range []policy.Code{"", "200", "502", "1006"} {
				checkFailureAgrees(t, b, st, "reason")
			}
		}
	}
}

func FuzzFailure(f *testing.F) {
	for _, resp := range failureResponses(f) {
		f.Add([]byte(resp), 0, "")
	}
	f.Add([]byte(`{"handleTimeout":true}`), 200, "r")
	f.Fuzz(func(t *testing.T, response []byte, status int, reason string) {
		var code policy.Code
		if status > 0 && status <= 99999 {
			code = policy.CodeOf(status)
		}
		checkFailureAgrees(t, response, code, reason)
	})
}
