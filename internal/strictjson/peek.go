package strictjson

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sync"
)

// Peek returns the raw value of a top-level string member of data, best
// effort, for reading a body that does not decode: the member of a JSON
// object (the last one, if repeated, as encoding/json keeps it), else the
// first `"key": "…"` found anywhere in the text. It returns nil when there
// is none.
func Peek(data []byte, key string) []byte {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) == nil {
		return top[key]
	}
	if m := peekPattern(key).FindSubmatch(data); m != nil {
		return m[1]
	}
	return nil
}

var peekPatterns sync.Map // key → *regexp.Regexp

func peekPattern(key string) *regexp.Regexp {
	if re, ok := peekPatterns.Load(key); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(`"` + regexp.QuoteMeta(key) + `"\s*:\s*("(?:[^"\\]|\\.)*")`)
	peekPatterns.Store(key, re)
	return re
}

// Unwrap returns the JSON object raw holds (blanks trimmed): raw itself
// when it is an object, or the text of a JSON string when that text is a
// valid JSON object, as DAP's envelopes sometimes carry one; ok is false for
// anything else. raw must be valid JSON.
func Unwrap(raw []byte) (obj []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		s, ok := Unquote(raw)
		if !ok || !Valid([]byte(s)) {
			return nil, false
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	return raw, true
}
