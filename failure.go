package repost

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/leadops/repost/policy"
)

// Failure is why a post-out failed, as the event tells it.
type Failure struct {
	// Code is the code the policy decides on: the first of Codes. It is
	// policy.CodeOK when the event shows a success, and "" when it names no
	// code at all.
	Code policy.Code
	// Codes are the distinct codes found, in order of precedence.
	Codes []policy.Code
	// Message is the text that came with Code (a Marketo reason or error
	// message, else responseReason).
	Message string
	// Timeout is set when DAP gave up waiting for Marketo (handleTimeout).
	Timeout bool
	// HTTPStatus is responseStatusCode when it is an HTTP status (100-599).
	HTTPStatus int
}

// marketoFailure gathers codes from a Marketo response body.
type marketoFailure struct {
	codes    []policy.Code
	messages []string
	ok       bool // the body shows a success and names no code
}

func (m *marketoFailure) add(c policy.Code, msg string) {
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
func (e *Event) Failure() Failure {
	var f Failure
	outer, body := splitResponse(e.Response)
	m := readMarketo(body)
	timeout := isTrue(outer["handleTimeout"])
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
			f.Message = firstString(outer["errors"])
		}
	}
	return f
}

// splitResponse returns DAP's outer envelope and the Marketo body inside it.
// A response that is itself a Marketo body (requestId, success or result at
// the top) is both. A JSON string is read as the JSON text it holds.
func splitResponse(raw json.RawMessage) (outer, body map[string]json.RawMessage) {
	outer = asObject(raw)
	if mr, ok := outer["marketoResponse"]; ok {
		return outer, asObject(mr)
	}
	for _, k := range []string{"requestId", "success", "result"} {
		if _, ok := outer[k]; ok {
			return outer, outer
		}
	}
	return outer, nil
}

func readMarketo(body map[string]json.RawMessage) marketoFailure {
	var m marketoFailure
	if body == nil {
		return m
	}
	addCoded(&m, body["errors"])
	for _, r := range asArray(body["result"]) {
		item := asObject(r)
		addCoded(&m, item["reasons"])
		if c, ok := parseCode(item["code"]); ok {
			m.add(c, stringOf(item["message"]))
		}
		addCoded(&m, item["errors"])
	}
	rc := asObject(body["reasonCode"])
	c, ok := parseCode(rc["statusCode"])
	if ok && c != "200" {
		m.add(c, stringOf(rc["reason"]))
	}
	m.ok = len(m.codes) == 0 && (c == "200" || isTrue(body["success"]))
	return m
}

// addCoded adds the codes of an array of {code, message} objects.
func addCoded(m *marketoFailure, raw json.RawMessage) {
	for _, item := range asArray(raw) {
		obj := asObject(item)
		if c, ok := parseCode(obj["code"]); ok {
			m.add(c, stringOf(obj["message"]))
		}
	}
}

// parseCode reads 1006 or "1006"; 0, negatives, fractions and names are not
// codes.
func parseCode(raw json.RawMessage) (policy.Code, bool) {
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

func asObject(raw json.RawMessage) map[string]json.RawMessage {
	raw = unwrapString(raw)
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func asArray(raw json.RawMessage) []json.RawMessage {
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		return nil
	}
	return a
}

// unwrapString returns the JSON text a JSON string holds, or raw itself.
func unwrapString(raw json.RawMessage) json.RawMessage {
	if rawKind(raw) != "string" {
		return raw
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return raw
	}
	return json.RawMessage(s)
}

func stringOf(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func firstString(raw json.RawMessage) string {
	for _, item := range asArray(raw) {
		if s := stringOf(item); s != "" {
			return s
		}
	}
	return ""
}

func isTrue(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "true", `"true"`:
		return true
	}
	return false
}
