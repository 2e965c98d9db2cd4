package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// walkObject is Members by the token walker, which also names every error.
func walkObject(data []byte, path string) ([]Member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, &PathError{path, syntaxReason(err)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &PathError{path, "must be a JSON object, got " + TokenKind(tok)}
	}
	var ms []Member
	seen := make(map[string]bool)
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, &PathError{path, syntaxReason(err)}
		}
		key, _ := tok.(string) // the decoder only yields strings in key position
		if seen[key] {
			return nil, &PathError{joinKey(path, key), "duplicate key"}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &PathError{path, syntaxReason(err)}
		}
		ms = append(ms, Member{Key: key, Value: raw, Start: start, End: dec.InputOffset()})
	}
	if _, err := dec.Token(); err != nil {
		return nil, &PathError{path, syntaxReason(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &PathError{path, "unexpected data after the JSON object"}
	}
	return ms, nil
}

// walkStrict is Decode by the token walker, which also names every error.
func walkStrict(raw []byte, path string, depth int) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := walkValue(dec, path, depth)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &PathError{path, "unexpected data after the value"}
	}
	return v, nil
}

func walkValue(dec *json.Decoder, path string, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, &PathError{path, fmt.Sprintf("nested deeper than %d levels", MaxDepth)}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, &PathError{path, syntaxReason(err)}
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
			return nil, &PathError{path, syntaxReason(err)}
		}
		key, _ := tok.(string)
		if _, dup := obj[key]; dup {
			return nil, &PathError{joinKey(path, key), "duplicate key"}
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
	return &PathError{path, syntaxReason(err)}
}

// joinKey appends key to path, shortened: a path ends up in error messages,
// parked reasons and logs, and a key can be as long as the body.
func joinKey(path, key string) string {
	if len(key) > 64 {
		n := 64
		for n > 0 && !utf8.RuneStart(key[n]) {
			n--
		}
		key = key[:n] + "…"
	}
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
