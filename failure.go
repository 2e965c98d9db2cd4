package repost

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/leadops/repost/internal/jsonscan"
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
	timeout := isTrue(outer.get("handleTimeout"))
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
			f.Message = firstString(outer.get("errors"))
		}
	}
	return f
}

// obj is a JSON object read as its members; get gives a key's value as
// encoding/json's map would (the last of repeated keys), nil when absent.
type obj []member

func (o obj) get(key string) json.RawMessage {
	var v json.RawMessage
	for _, m := range o {
		if m.Key == key {
			v = m.Value
		}
	}
	return v
}

func (o obj) has(key string) bool {
	for _, m := range o {
		if m.Key == key {
			return true
		}
	}
	return false
}

// splitResponse returns DAP's outer envelope and the Marketo body inside it.
// A response that is itself a Marketo body (requestId, success or result at
// the top) is both. A JSON string is read as the JSON text it holds. A
// response that is not valid JSON has neither.
func splitResponse(raw json.RawMessage) (outer, body obj) {
	if !json.Valid(raw) {
		return nil, nil
	}
	outer = asObject(raw)
	if outer.has("marketoResponse") {
		return outer, asObject(outer.get("marketoResponse"))
	}
	for _, k := range []string{"requestId", "success", "result"} {
		if outer.has(k) {
			return outer, outer
		}
	}
	return outer, nil
}

func readMarketo(body obj) marketoFailure {
	var m marketoFailure
	if body == nil {
		return m
	}
	addCoded(&m, body.get("errors"))
	for _, r := range asArray(body.get("result")) {
		item := asObject(r)
		addCoded(&m, item.get("reasons"))
		if c, ok := parseCode(item.get("code")); ok {
			m.add(c, stringOf(item.get("message")))
		}
		addCoded(&m, item.get("errors"))
	}
	rc := asObject(body.get("reasonCode"))
	c, ok := parseCode(rc.get("statusCode"))
	if ok && c != "200" {
		m.add(c, stringOf(rc.get("reason")))
	}
	m.ok = len(m.codes) == 0 && (c == "200" || isTrue(body.get("success")))
	return m
}

// addCoded adds the codes of an array of {code, message} objects.
func addCoded(m *marketoFailure, raw json.RawMessage) {
	for _, item := range asArray(raw) {
		o := asObject(item)
		if c, ok := parseCode(o.get("code")); ok {
			m.add(c, stringOf(o.get("message")))
		}
	}
}

// parseCode reads 1006 or "1006"; 0, negatives, fractions and names are not
// codes.
func parseCode(raw json.RawMessage) (policy.Code, bool) {
	text := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(text, `"`) {
		s, ok := jsonscan.Unquote(raw)
		if !ok {
			return "", false
		}
		text = strings.TrimSpace(s)
	}
	if text == "" {
		return "", false
	}
	n, err := strconv.Atoi(text)
	if err != nil || n <= 0 || n > 99999 {
		return "", false
	}
	return policy.CodeOf(n), true
}

// asObject reads a valid JSON value as an object, or a JSON string holding
// one; nil for anything else.
func asObject(raw json.RawMessage) obj {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		s, ok := jsonscan.Unquote(raw)
		if !ok || !json.Valid([]byte(s)) {
			return nil
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	ms, _ := scanMembers(raw)
	if ms == nil {
		ms = obj{} // an empty object is an object
	}
	return ms
}

// asArray reads a valid JSON value as an array; nil for anything else.
func asArray(raw json.RawMessage) []json.RawMessage {
	a, _ := jsonscan.Elements(raw)
	return a
}

func stringOf(raw json.RawMessage) string {
	s, _ := jsonscan.Unquote(raw)
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
