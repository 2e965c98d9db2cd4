package repost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/leadops/repost/internal/jsonscan"
)

// maxDepth bounds the nesting the strict walker follows: deep enough for any
// real record, shallow enough that a hostile body cannot exhaust the stack.
const maxDepth = 200

// member is one key of a JSON object in document order. start is the offset
// just after the previous member's value (or after '{'), end the offset just
// after this member's value: data[start:end] is the member with its leading
// comma, which is what splicing a parked block in and out relies on.
type member struct {
	Key        string
	Value      json.RawMessage
	start, end int64
}

// pathError is a rule broken at a path inside a value; callers turn it into an
// *InvalidEventError.
type pathError struct {
	path   string
	reason string
}

func (e *pathError) Error() string { return e.path + ": " + e.reason }

// readObject returns the members of the JSON object in data, in order. It
// refuses anything but exactly one object, and duplicate keys: encoding/json
// would silently keep the last one, and which one Marketo saw is unknowable.
func readObject(data []byte, path string) ([]member, error) {
	if ms, ok := fastMembers(data); ok {
		return ms, nil
	}
	return walkObject(data, path)
}

// walkObject is readObject by the token walker, which also names every error.
func walkObject(data []byte, path string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, &pathError{path, syntaxReason(err)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &pathError{path, "must be a JSON object, got " + tokenKind(tok)}
	}
	var ms []member
	seen := make(map[string]bool)
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, &pathError{path, syntaxReason(err)}
		}
		key, _ := tok.(string) // the decoder only yields strings in key position
		if seen[key] {
			return nil, &pathError{joinKey(path, key), "duplicate key"}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &pathError{path, syntaxReason(err)}
		}
		ms = append(ms, member{Key: key, Value: raw, start: start, end: dec.InputOffset()})
	}
	if _, err := dec.Token(); err != nil {
		return nil, &pathError{path, syntaxReason(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &pathError{path, "unexpected data after the JSON object"}
	}
	return ms, nil
}

// decodeStrict decodes one JSON value with numbers as json.Number, refusing
// duplicate keys at any depth.
func decodeStrict(raw []byte, path string) (any, error) { return decodeStrictAt(raw, path, 0) }

// decodeStrictAt is decodeStrict for a value nested depth levels down in the
// value the depth limit counts from.
func decodeStrictAt(raw []byte, path string, depth int) (any, error) {
	if v, ok := fastValue(raw, depth); ok {
		return v, nil
	}
	return walkStrict(raw, path, depth)
}

// walkStrict is decodeStrictAt by the token walker, which also names every error.
func walkStrict(raw []byte, path string, depth int) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := walkValue(dec, path, depth)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &pathError{path, "unexpected data after the value"}
	}
	return v, nil
}

func walkValue(dec *json.Decoder, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, &pathError{path, fmt.Sprintf("nested deeper than %d levels", maxDepth)}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, &pathError{path, syntaxReason(err)}
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if d == '[' {
		list := []any{}
		for i := 0; dec.More(); i++ {
			v, err := walkValue(dec, path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token()
		return list, wrapSyntax(path, err)
	}
	obj := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &pathError{path, syntaxReason(err)}
		}
		key, _ := tok.(string)
		if _, dup := obj[key]; dup {
			return nil, &pathError{joinKey(path, key), "duplicate key"}
		}
		v, err := walkValue(dec, joinKey(path, key), depth+1)
		if err != nil {
			return nil, err
		}
		obj[key] = v
	}
	_, err = dec.Token()
	return obj, wrapSyntax(path, err)
}

func wrapSyntax(path string, err error) error {
	if err == nil {
		return nil
	}
	return &pathError{path, syntaxReason(err)}
}

// joinKey appends key to path, shortened: a path ends up in error messages,
// parked reasons and logs, and a key can be as long as the body.
func joinKey(path, key string) string {
	key = truncate(key, 64)
	if path == "" {
		return key
	}
	return path + "." + key
}

func syntaxReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("not valid JSON: %v (offset %d)", se, se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "not valid JSON: unexpected end of input"
	}
	return "not valid JSON: " + err.Error()
}

// tokenKind names the JSON type of a token from json.Decoder.Token.
func tokenKind(tok any) string {
	switch t := tok.(type) {
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

// rawKind names the JSON type of a valid raw value by its first byte.
func rawKind(raw []byte) string {
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

// compact returns raw without insignificant whitespace and with <, >, &,
// U+2028 and U+2029 escaped, which is how encoding/json writes a
// json.RawMessage: a value kept this way is a fixed point of re-encoding, and
// still means exactly what was sent. A raw already so is returned itself
// (its capacity capped, so that appending copies): callers own raw.
func compact(raw []byte) json.RawMessage {
	if jsonscan.IsCompact(raw) {
		return raw[:len(raw):len(raw)]
	}
	var b, out bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return append(json.RawMessage(nil), raw...)
	}
	json.HTMLEscape(&out, b.Bytes())
	return out.Bytes()
}

// objectWriter writes a JSON object key by key, keeping the first error.
type objectWriter struct {
	buf bytes.Buffer
	n   int
	err error
}

func newObjectWriter() *objectWriter {
	w := &objectWriter{}
	w.buf.WriteByte('{')
	return w
}

func (w *objectWriter) raw(key string, raw []byte) {
	if w.err != nil {
		return
	}
	if w.n > 0 {
		w.buf.WriteByte(',')
	}
	w.n++
	k, _ := json.Marshal(key)
	w.buf.Write(k)
	w.buf.WriteByte(':')
	w.buf.Write(raw)
}

func (w *objectWriter) value(key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("%s: %w", key, err)
		return
	}
	w.raw(key, b)
}

// rawMap writes m's entries sorted by key, leaving out those in skip.
func (w *objectWriter) rawMap(m map[string]json.RawMessage, skip map[string]bool) {
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
		w.raw(k, m[k])
	}
}

func (w *objectWriter) close() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}
