package repost

import (
	"bytes"
	"encoding/json"

	"github.com/leadops/repost/internal/jsonscan"
)

// The fast paths below serve the common case, a well-formed body, at a
// fraction of the token walker's cost (json.Decoder.Token allocates per
// token, and decoding is the worker's main CPU cost). They only ever accept:
// whenever a body is not valid JSON, repeats a key, or nests near the depth
// limit, they step aside and the strict walker decides, so every refusal
// and its message come from one place. FuzzDecodeEvent and TestFastPathsAgree
// hold the two paths to the same answers.

// plainJSON reports whether data is one valid JSON value with no object
// repeating a key and no nesting that could reach the depth limit when the
// value starts depth levels down: exactly the bodies the fast paths take.
func plainJSON(data []byte, depth int) bool {
	return jsonscan.Valid(data) && !hasDuplicateOrDeep(data, maxDepth-depth)
}

// hasDuplicateOrDeep scans valid JSON for an object repeating a key, or for
// brackets nested more than limit deep (conservatively: the strict walker
// counts the values inside, the scan counts the brackets around them).
func hasDuplicateOrDeep(data []byte, limit int) bool {
	type frame struct {
		object bool
		expect bool                // object: the next string is a key
		keys   int                 // where this object's keys start in keys
		set    map[string]struct{} // a large object's keys, past the first few
	}
	const linear = 16 // keys compared one by one before an object gets a set
	var stackBuf [16]frame
	var keysBuf [32][]byte
	stack, keys := stackBuf[:0], keysBuf[:0] // the keys of the open objects, innermost last
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '{', '[':
			stack = append(stack, frame{object: c == '{', expect: c == '{', keys: len(keys)})
			if len(stack) >= limit {
				return true
			}
		case '}', ']':
			keys = keys[:stack[len(stack)-1].keys]
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].expect = true
			}
		case '"':
			end := jsonscan.StringEnd(data, i)
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expect {
				f := &stack[n-1]
				f.expect = false
				key := data[i+1 : end-1]
				if !jsonscan.PlainString(key) { // compare keys as decoded
					var s string
					if json.Unmarshal(data[i:end], &s) != nil {
						return true
					}
					key = []byte(s)
				}
				switch {
				case f.set != nil:
					if _, dup := f.set[string(key)]; dup {
						return true
					}
					f.set[string(key)] = struct{}{}
				case len(keys)-f.keys < linear:
					for _, k := range keys[f.keys:] {
						if bytes.Equal(k, key) {
							return true
						}
					}
					keys = append(keys, key)
				default:
					f.set = make(map[string]struct{}, 2*linear)
					for _, k := range keys[f.keys:] {
						f.set[string(k)] = struct{}{}
					}
					if _, dup := f.set[string(key)]; dup {
						return true
					}
					f.set[string(key)] = struct{}{}
				}
			}
			i = end - 1
		}
	}
	return false
}

// fastMembers is readObject for a plain JSON object: the same members, with
// the same offsets. ok is false when data is not a plain object.
func fastMembers(data []byte) (ms []member, ok bool) {
	if !plainJSON(data, 0) {
		return nil, false
	}
	return scanMembers(data)
}

// scanMembers is fastMembers for data already known to be plain JSON
// (a part of a plain body).
func scanMembers(data []byte) (ms []member, ok bool) {
	i := jsonscan.SkipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	// Offsets as json.Decoder reports them after More(), which skips
	// blanks: a member starts at its key (the first) or at its comma.
	i = jsonscan.SkipSpace(data, i+1)
	if i < len(data) && data[i] != '}' {
		ms = make([]member, 0, 12) // an event's keys in one allocation
	}
	for i < len(data) && data[i] != '}' {
		start := i
		if data[i] == ',' {
			i = jsonscan.SkipSpace(data, i+1)
		}
		kend := jsonscan.StringEnd(data, i)
		key := jsonscan.Key(data[i:kend])
		i = jsonscan.SkipSpace(data, kend)
		i = jsonscan.SkipSpace(data, i+1) // the colon
		vend := jsonscan.ValueEnd(data, i)
		ms = append(ms, member{Key: key, Value: json.RawMessage(data[i:vend:vend]), start: int64(start), end: int64(vend)})
		i = jsonscan.SkipSpace(data, vend)
	}
	return ms, true
}

// fastValue is decodeStrictAt for a plain JSON value: the same value
// (objects as map[string]any, numbers as json.Number). ok is false when raw
// is not plain.
func fastValue(raw []byte, depth int) (v any, ok bool) {
	if !plainJSON(raw, depth) {
		return nil, false
	}
	return scanValue(raw)
}

// scanValue is fastValue for a part of a plain body.
func scanValue(raw []byte) (v any, ok bool) {
	if jsonscan.SkipSpace(raw, 0) == len(raw) {
		return nil, false
	}
	v, end := jsonscan.Parse(raw, 0)
	if jsonscan.SkipSpace(raw, end) != len(raw) {
		return nil, false
	}
	return v, true
}

// trust says whether a value is part of a body plainJSON accepted: then
// its own parts need no second check (a part of a plain value is plain,
// and nests no deeper than the whole).
type trust bool

func (t trust) members(data []byte, path string) ([]member, error) {
	if t {
		if ms, ok := scanMembers(data); ok {
			return ms, nil
		}
	}
	return readObject(data, path)
}

// value decodes raw strictly; path is called only when raw breaks a rule.
func (t trust) value(raw []byte, path func() string, depth int) (any, error) {
	if t {
		if v, ok := scanValue(raw); ok {
			return v, nil
		}
	}
	if v, ok := fastValue(raw, depth); ok {
		return v, nil
	}
	return walkStrict(raw, path(), depth)
}
