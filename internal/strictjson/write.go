package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"unicode/utf8"
)

// TokenKind names the JSON type of a value as json.Decoder.Token or Decode
// gives it: "object", "array", "string", "number", "boolean" or "null".
func TokenKind(tok any) string {
	switch t := tok.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case json.Delim:
		if t == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// Kind names the JSON type of a valid raw value by its first byte, as
// TokenKind does, or "nothing" for blanks.
func Kind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// Compact returns raw without insignificant whitespace and with <, >, &,
// U+2028 and U+2029 escaped, which is how encoding/json writes a
// json.RawMessage: a value kept this way is a fixed point of re-encoding, and
// still means exactly what was sent. A raw already so is returned itself
// (its capacity capped, so that appending copies): callers own raw.
func Compact(raw []byte) json.RawMessage {
	if IsCompact(raw) {
		return raw[:len(raw):len(raw)]
	}
	var b, out bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return append(json.RawMessage(nil), raw...)
	}
	json.HTMLEscape(&out, b.Bytes())
	return out.Bytes()
}

// ObjectWriter writes a JSON object key by key, keeping the first error.
type ObjectWriter struct {
	buf bytes.Buffer
	n   int
	err error
}

// NewObjectWriter starts an object.
func NewObjectWriter() *ObjectWriter {
	w := &ObjectWriter{}
	w.buf.WriteByte('{')
	return w
}

// Raw writes a member whose value is already JSON.
func (w *ObjectWriter) Raw(key string, raw []byte) {
	if w.err != nil {
		return
	}
	if w.n > 0 {
		w.buf.WriteByte(',')
	}
	w.n++
	w.buf.Write(AppendString(w.buf.AvailableBuffer(), key))
	w.buf.WriteByte(':')
	w.buf.Write(raw)
}

// Value writes a member encoded with encoding/json.
func (w *ObjectWriter) Value(key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("%s: %w", key, err)
		return
	}
	w.Raw(key, b)
}

// RawMap writes m's entries sorted by key, leaving out those in skip.
func (w *ObjectWriter) RawMap(m map[string]json.RawMessage, skip map[string]bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !skip[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !json.Valid(m[k]) {
			w.err = fmt.Errorf("%s: not valid JSON", k)
			return
		}
		w.Raw(k, m[k])
	}
}

// Close ends the object and returns it, or the first error.
func (w *ObjectWriter) Close() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}

// AppendString appends s as encoding/json does: HTML-safe, U+2028 and
// U+2029 escaped, invalid UTF-8 as U+FFFD.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
