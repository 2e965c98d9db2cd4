package strictjson

// The scanners below read JSON already known to be valid (a part of a body
// Valid accepted) without encoding/json's reflection and per-call
// validation: the worker reads every event through them, and the Marketo
// simulator every record. Each function gives exactly what encoding/json
// gives for the same text; FuzzAgainstEncodingJSON holds them to it.
// Callers pass valid JSON: on anything else the results are unspecified,
// but no function panics or loops (the fuzz target feeds them anything).

import (
	"bytes"
	"encoding/json"
	"iter"
	"unicode/utf8"
)

// StringEnd returns the offset just after the string starting at data[i]
// (a quote) in valid JSON.
func StringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

// ValueEnd returns the offset just after the value starting at data[i] in
// valid JSON.
func ValueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return StringEnd(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				j = StringEnd(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(data)
	}
	j := i
	for ; j < len(data); j++ {
		switch data[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j
		}
	}
	return j
}

// SkipSpace returns the offset of the first non-blank byte at or after i.
func SkipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// Unquote returns the text of a JSON string (surrounding blanks allowed);
// ok is false when raw is not a JSON string.
func Unquote(raw []byte) (s string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if body := raw[1 : len(raw)-1]; PlainString(body) {
		return string(body), true // nothing to unescape
	}
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// PlainString reports whether b, the inside of a JSON string, means
// itself: no escape, quote or control character, and valid UTF-8.
func PlainString(b []byte) bool {
	ascii := true
	for _, c := range b {
		switch {
		case c == '\\' || c == '"' || c < 0x20:
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return ascii || utf8.Valid(b)
}

// Parse decodes the valid JSON value starting at data[i] (blanks
// before it allowed) as encoding/json decodes into an any with UseNumber,
// and returns it with the offset just after it. A repeated key keeps its
// last value, as with encoding/json (the strict decoder refuses those
// bodies before they get here). On text that is not valid JSON it returns
// something unspecified, without panicking or looping.
func Parse(data []byte, i int) (any, int) { return parse(data, i, 0) }

func parse(data []byte, i, depth int) (any, int) {
	i = SkipSpace(data, i)
	if i >= len(data) || depth > maxNesting { // not valid JSON
		return nil, len(data)
	}
	switch data[i] {
	case '{':
		obj := map[string]any{}
		i = SkipSpace(data, i+1)
		if at(data, i) == '}' {
			return obj, i + 1
		}
		for i < len(data) {
			kend := StringEnd(data, i)
			key := Key(data[i:kend])
			i = SkipSpace(data, kend) // the colon
			v, j := parse(data, i+1, depth+1)
			obj[key] = v
			i = SkipSpace(data, j)
			if at(data, i) != ',' {
				return obj, min(i+1, len(data))
			}
			i = SkipSpace(data, i+1)
		}
		return obj, len(data)
	case '[':
		list := []any{}
		i = SkipSpace(data, i+1)
		if at(data, i) == ']' {
			return list, i + 1
		}
		for i < len(data) {
			v, j := parse(data, i, depth+1)
			list = append(list, v)
			i = SkipSpace(data, j)
			if at(data, i) != ',' {
				return list, min(i+1, len(data))
			}
			i++
		}
		return list, len(data)
	case '"':
		end := StringEnd(data, i)
		s, _ := Unquote(data[i:end])
		return s, end
	case 't':
		return true, min(i+4, len(data))
	case 'f':
		return false, min(i+5, len(data))
	case 'n':
		return nil, min(i+4, len(data))
	}
	end := ValueEnd(data, i)
	return json.Number(data[i:end]), end
}

// at is data[i], or 0 past the end.
func at(data []byte, i int) byte {
	if i < len(data) {
		return data[i]
	}
	return 0
}

// Elements returns the elements of a valid JSON array, in order; ok is
// false when raw is not an array.
func Elements(raw []byte) (elems []json.RawMessage, ok bool) {
	i := SkipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, false
	}
	i = SkipSpace(raw, i+1)
	for i < len(raw) && raw[i] != ']' {
		end := ValueEnd(raw, i)
		if end <= i { // not valid JSON: stop rather than loop
			return elems, false
		}
		elems = append(elems, json.RawMessage(raw[i:end:end]))
		i = SkipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = SkipSpace(raw, i+1)
		}
	}
	return elems, true
}

// IsCompact reports whether json.Compact then json.HTMLEscape would give raw
// back unchanged: no blank outside strings and nothing HTML-escaping would
// rewrite.
func IsCompact(raw []byte) bool {
	in := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && (raw[i+2] == 0xA8 || raw[i+2] == 0xA9):
			return false // U+2028, U+2029
		case in:
			if c == '\\' {
				i++
			} else if c == '"' {
				in = false
			}
		case c == '"':
			in = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return true
}

// Interned is Unquote for the strings events and Marketo bodies repeat
// millions of times (keys, actions, endpoints, common field names): those
// come from a table, not an allocation.
func Interned(raw []byte) (s string, ok bool) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' {
		if s, ok := common[string(raw[1:n-1])]; ok {
			return s, true
		}
	}
	return Unquote(raw)
}

// Key is Interned for an object key of valid JSON.
func Key(raw []byte) string {
	s, _ := Interned(raw)
	return s
}

var common = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		// the event (CONTRACT §3) and the request body
		"eventId", "leadId", "sourceId", "subscription", "endpoint", "requestContent", "responseStatusCode",
		"responseReason", "response", "attemptedAt", "action", "lookupField", "partitionName", "input",
		"programName", "programStatus", "source", "reason", "asyncProcessing",
		// DAP's envelope and Marketo's body
		"marketoResponse", "errors", "handleTimeout", "failed", "requestId", "success", "result", "code",
		"message", "reasons", "status", "id", "seq", "reasonCode", "statusCode", "warnings",
		// common lead fields
		"email", "firstName", "lastName", "company", "title", "phone", "numberOfEmployees", "role",
		"jobTitle", "country", "state", "city", "postalCode", "leadSource", "website", "industry",
		// values: actions, endpoints, statuses
		"createOrUpdate", "createOnly", "updateOnly", "createDuplicate", "/rest/v1/leads.json",
		"/rest/v1/leads/push.json", "created", "updated", "skipped",
	} {
		m[k] = k
	}
	return m
}()

// Each yields the keys and values of a valid JSON object in document
// order, repeated keys included; nothing when data is not an object.
func Each(data []byte) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		i := SkipSpace(data, 0)
		if i >= len(data) || data[i] != '{' {
			return
		}
		i = SkipSpace(data, i+1)
		for i < len(data) && data[i] != '}' {
			if data[i] == ',' {
				i = SkipSpace(data, i+1)
			}
			kend := StringEnd(data, i)
			key := Key(data[i:kend])
			i = SkipSpace(data, SkipSpace(data, kend)+1) // past the colon
			if i >= len(data) {
				return // not valid JSON
			}
			vend := ValueEnd(data, i)
			if !yield(key, data[i:vend:vend]) {
				return
			}
			i = SkipSpace(data, vend)
		}
	}
}
