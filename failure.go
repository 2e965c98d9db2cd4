package repost

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/leadops/repost/internal/strictjson"
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
	timeout := isTrue(outer.handleTimeout)
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
			f.Message = firstString(outer.errors)
		}
	}
	return f
}

// obj holds the keys Failure reads from one JSON object, each nil when
// absent and the last of repeated keys as encoding/json's map keeps it; ok
// is set when the value was an object.
type obj struct {
	ok                                                         bool
	marketoResponse, handleTimeout, errors, requestID, success json.RawMessage
	result, reasons, code, message, reasonCode, statusCode     json.RawMessage
	reason                                                     json.RawMessage
}

// splitResponse returns DAP's outer envelope and the Marketo body inside it.
// A response that is itself a Marketo body (requestId, success or result at
// the top) is both. A JSON string is read as the JSON text it holds. A
// response that is not valid JSON has neither.
func splitResponse(raw json.RawMessage) (outer, body obj) {
	if !strictjson.Valid(raw) {
		return obj{}, obj{}
	}
	outer = asObject(raw)
	if outer.marketoResponse != nil {
		return outer, asObject(outer.marketoResponse)
	}
	if outer.requestID != nil || outer.success != nil || outer.result != nil {
		return outer, outer
	}
	return outer, obj{}
}

func readMarketo(body obj) marketoFailure {
	var m marketoFailure
	if !body.ok {
		return m
	}
	addCoded(&m, body.errors)
	for _, r := range elements(body.result) {
		item := asObject(r)
		addCoded(&m, item.reasons)
		if c, ok := parseCode(item.code); ok {
			m.add(c, stringOf(item.message))
		}
		addCoded(&m, item.errors)
	}
	rc := asObject(body.reasonCode)
	c, ok := parseCode(rc.statusCode)
	if ok && c != "200" {
		m.add(c, stringOf(rc.reason))
	}
	m.ok = len(m.codes) == 0 && (c == "200" || isTrue(body.success))
	return m
}

// addCoded adds the codes of an array of {code, message} objects.
func addCoded(m *marketoFailure, raw json.RawMessage) {
	for _, item := range elements(raw) {
		o := asObject(item)
		if c, ok := parseCode(o.code); ok {
			m.add(c, stringOf(o.message))
		}
	}
}

// parseCode reads 1006 or "1006"; 0, negatives, fractions and names are not
// codes.
func parseCode(raw json.RawMessage) (policy.Code, bool) {
	text := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(text, `"`) {
		s, ok := strictjson.Unquote(raw)
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

// asObject reads the keys Failure needs of a valid JSON object, or of a
// JSON string holding one; not ok for anything else.
func asObject(raw json.RawMessage) obj {
	data, ok := strictjson.Unwrap(raw)
	if !ok {
		return obj{}
	}
	o := obj{ok: true}
	for k, v := range strictjson.Each(data) {
		switch k {
		case "marketoResponse":
			o.marketoResponse = v
		case "handleTimeout":
			o.handleTimeout = v
		case "errors":
			o.errors = v
		case "requestId":
			o.requestID = v
		case "success":
			o.success = v
		case "result":
			o.result = v
		case "reasons":
			o.reasons = v
		case "code":
			o.code = v
		case "message":
			o.message = v
		case "reasonCode":
			o.reasonCode = v
		case "statusCode":
			o.statusCode = v
		case "reason":
			o.reason = v
		}
	}
	return o
}

// elements are the elements of a valid JSON array; nil for anything else.
func elements(raw json.RawMessage) []json.RawMessage {
	a, _ := strictjson.Elements(raw)
	return a
}

func stringOf(raw json.RawMessage) string {
	s, _ := strictjson.Unquote(raw)
	return s
}

func firstString(raw json.RawMessage) string {
	for _, item := range elements(raw) {
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
