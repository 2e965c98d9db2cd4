package strictjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var samples = []string{
	`{}`, `[]`, `""`, `"a"`, `"\u00e9\n\"x\""`, `"é"`, `"\ud800"`, "\"\xff\"", `0`, `-1.5e+10`, `12345678901234567890`,
	`true`, `false`, `null`, ` { "a" : [ 1 , 2.50 , { "b" : null } ] , "c" : "d" } `, `[[],{},[{}]]`,
	`{"email":"a@b","n":1,"t":true,"f":false,"z":null,"arr":[1,"x",[true]],"o":{"k":"<&>"}}`,
	`{"a":1,"a":2}`, "{\"k\u2028\":\"v\u2029\"}", `{"x":"<"}`, `[1 ,2]`,
	strings.Repeat("[", 20000), strings.Repeat(`{"a":`, 20000), `[}`, `{`, `{"a"`, `{"a":`, `[1,`, `[`, `"`, `{"a" 1}`, `[,]`, `{,}`, `t`, `-`, `{"a":[}`,
}

// decoded is what encoding/json gives, numbers as json.Number.
func decoded(t testing.TB, raw []byte) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %q: %v", raw, err)
	}
	return v
}

// check holds every function to encoding/json on one valid value.
func check(t *testing.T, raw []byte) {
	if !json.Valid(raw) { // anything goes, but no panic and no endless loop
		Parse(raw, 0)
		Elements(raw)
		for range Each(raw) {
		}
		Unquote(raw)
		IsCompact(raw)
		return
	}
	v, end := Parse(raw, 0)
	if SkipSpace(raw, end) != len(raw) {
		t.Fatalf("Parse(%q) ended at %d of %d", raw, end, len(raw))
	}
	if want := decoded(t, raw); !reflect.DeepEqual(v, want) {
		t.Fatalf("Parse(%q) = %#v, want %#v", raw, v, want)
	}
	var s string
	gotS, ok := Unquote(raw)
	isString := bytes.TrimSpace(raw)[0] == '"'
	if err := json.Unmarshal(raw, &s); (err == nil && isString) != ok || gotS != s {
		t.Fatalf("Unquote(%q) = %q, %v; encoding/json %q, %v", raw, gotS, ok, s, err)
	}
	var elems []json.RawMessage
	gotE, ok := Elements(raw)
	if err := json.Unmarshal(raw, &elems); (err == nil && elems != nil) != ok || !reflect.DeepEqual(normalize(gotE), normalize(elems)) {
		t.Fatalf("Elements(%q) = %q, %v; encoding/json %q, %v", raw, gotE, ok, elems, err)
	}
	var members []string
	for k, v := range Each(raw) {
		members = append(members, k, string(v))
	}
	if want := tokenMembers(raw); !reflect.DeepEqual(members, want) {
		t.Fatalf("Each(%q) = %q, want %q", raw, members, want)
	}
	var c, h bytes.Buffer
	_ = json.Compact(&c, raw)
	json.HTMLEscape(&h, c.Bytes())
	if IsCompact(raw) != bytes.Equal(h.Bytes(), raw) {
		t.Fatalf("IsCompact(%q) = %v, but compacting gives %q", raw, IsCompact(raw), h.Bytes())
	}
}

func normalize(a []json.RawMessage) []string {
	var out []string
	for _, r := range a {
		out = append(out, string(r))
	}
	return out
}

// tokenMembers is Each by json.Decoder: keys and raw values in order.
func tokenMembers(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var out []string
	for dec.More() {
		k, _ := dec.Token()
		var v json.RawMessage
		_ = dec.Decode(&v)
		out = append(out, k.(string), string(v))
	}
	return out
}

func TestAgainstEncodingJSON(t *testing.T) {
	for _, s := range samples {
		check(t, []byte(s))
	}
}

func FuzzAgainstEncodingJSON(f *testing.F) {
	for _, s := range samples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { check(t, raw) })
}

func TestInterned(t *testing.T) {
	for k, v := range common {
		if k != v {
			t.Errorf("common[%q] = %q", k, v)
		}
		if got := Key([]byte(`"` + k + `"`)); got != k {
			t.Errorf("Interned(%q) = %q", k, got)
		}
	}
	if got := Key([]byte(`"em\u0061il"`)); got != "email" {
		t.Errorf("an escaped key: %q", got)
	}
	for _, raw := range []string{`null`, `12`, `xemailx`, `"email`, `email"`, `true`} {
		if got, ok := Interned([]byte(raw)); got != "" || ok {
			t.Errorf("Interned(%s) = %q, want \"\" (not a JSON string)", raw, got)
		}
	}
}
