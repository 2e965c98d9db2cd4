package repost

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// The helpers below read JSON already known to be valid (a part of a body
// json.Valid accepted) without encoding/json's reflection and per-call
// validation: the worker reads every event through them. They give exactly
// what encoding/json gives for the same text; the tests and fuzz targets
// hold them to it.

// unquote returns the text of a JSON string (surrounding blanks allowed);
// ok is false when raw is not a JSON string.
func unquote(raw []byte) (s string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if body := raw[1 : len(raw)-1]; plainString(body) {
		return string(body), true // nothing to unescape
	}
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// plainString reports whether b, the inside of a JSON string, means
// itself: no escape, quote or control character, and valid UTF-8.
func plainString(b []byte) bool {
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

// parsePlain decodes the valid JSON value starting at data[i] (blanks
// before it allowed) as encoding/json decodes into an any with UseNumber,
// and returns it with the offset just after it. Objects must not repeat a
// key (plainJSON has checked).
func parsePlain(data []byte, i int) (any, int) {
	i = skipSpace(data, i)
	switch data[i] {
	case '{':
		obj := map[string]any{}
		i = skipSpace(data, i+1)
		if data[i] == '}' {
			return obj, i + 1
		}
		for {
			kend := stringEnd(data, i)
			key := keyOf(data[i:kend])
			i = skipSpace(data, kend) // the colon
			v, j := parsePlain(data, i+1)
			obj[key] = v
			i = skipSpace(data, j)
			if data[i] != ',' {
				return obj, i + 1
			}
			i = skipSpace(data, i+1)
		}
	case '[':
		list := []any{}
		i = skipSpace(data, i+1)
		if data[i] == ']' {
			return list, i + 1
		}
		for {
			v, j := parsePlain(data, i)
			list = append(list, v)
			i = skipSpace(data, j)
			if data[i] != ',' {
				return list, i + 1
			}
			i++
		}
	case '"':
		end := stringEnd(data, i)
		s, _ := unquote(data[i:end])
		return s, end
	case 't':
		return true, i + 4
	case 'f':
		return false, i + 5
	case 'n':
		return nil, i + 4
	}
	end := valueEnd(data, i)
	return json.Number(data[i:end]), end
}

// scanElements returns the elements of a valid JSON array, in order; ok is
// false when raw is not an array.
func scanElements(raw []byte) (elems []json.RawMessage, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, false
	}
	i = skipSpace(raw, i+1)
	for i < len(raw) && raw[i] != ']' {
		end := valueEnd(raw, i)
		elems = append(elems, json.RawMessage(raw[i:end:end]))
		i = skipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return elems, true
}

// isCompact reports whether compact would return raw unchanged: no blank
// outside strings and nothing HTML-escaping would rewrite.
func isCompact(raw []byte) bool {
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

// keyOf is unquote for an object key of valid JSON: the keys events and
// Marketo bodies repeat millions of times come from a table, not an
// allocation.
func keyOf(raw []byte) string {
	if len(raw) >= 2 {
		if s, ok := commonKeys[string(raw[1:len(raw)-1])]; ok {
			return s
		}
	}
	s, _ := unquote(raw)
	return s
}

var commonKeys = func() map[string]string {
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
	} {
		m[k] = k
	}
	return m
}()
