package strictjson

import (
	"bytes"
	"encoding/json"
)

// The fast paths below serve the common case, a well-formed body, at a
// fraction of the token walker's cost (json.Decoder.Token allocates per
// token, and decoding is the worker's main CPU cost). They only ever accept:
// whenever a body is not valid JSON, repeats a key, or nests near the depth
// limit, Plain says no and the walker (walk.go) decides, so every refusal
// and its message come from one place.

// Plain reports whether data is one valid JSON value with no object
// repeating a key and no nesting that could reach MaxDepth when the value
// starts depth levels down: exactly the bodies the fast paths take.
func Plain(data []byte, depth int) bool {
	return Valid(data) && !hasDuplicateOrDeep(data, MaxDepth-depth)
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
			end := StringEnd(data, i)
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expect {
				f := &stack[n-1]
				f.expect = false
				key := data[i+1 : end-1]
				if !PlainString(key) { // compare keys as decoded
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

// scanMembers reads the members of plain JSON, with the offsets the walker
// gives; ok is false when data is not an object.
func scanMembers(data []byte) (ms []Member, ok bool) {
	i := SkipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	// Offsets as json.Decoder reports them after More(), which skips
	// blanks: a member starts at its key (the first) or at its comma.
	i = SkipSpace(data, i+1)
	if i < len(data) && data[i] != '}' {
		ms = make([]Member, 0, 12) // an event's keys in one allocation
	}
	for i < len(data) && data[i] != '}' {
		start := i
		if data[i] == ',' {
			i = SkipSpace(data, i+1)
		}
		kend := StringEnd(data, i)
		key := Key(data[i:kend])
		i = SkipSpace(data, kend)
		i = SkipSpace(data, i+1) // the colon
		vend := ValueEnd(data, i)
		ms = append(ms, Member{Key: key, Value: json.RawMessage(data[i:vend:vend]), Start: int64(start), End: int64(vend)})
		i = SkipSpace(data, vend)
	}
	return ms, true
}

// scanValue decodes plain JSON as the walker does (objects as
// map[string]any, numbers as json.Number); ok is false when raw holds no
// value or more than one.
func scanValue(raw []byte) (v any, ok bool) {
	if SkipSpace(raw, 0) == len(raw) {
		return nil, false
	}
	v, end := Parse(raw, 0)
	if SkipSpace(raw, end) != len(raw) {
		return nil, false
	}
	return v, true
}
