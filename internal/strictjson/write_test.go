package strictjson

import (
	"encoding/json"
	"testing"
)

// AppendString writes what json.Marshal writes for a string, and
// ObjectWriter's keys with it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "<&>", "\u2028\u2029", "\xff", "é\x00\x1f\t\n\r\b\f", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got[1:], want)
		}
		w := NewObjectWriter()
		w.Raw(s, []byte("1"))
		w.Value("v", s)
		got, err := w.Close()
		if wantObj, _ := json.Marshal(map[string]any{s: 1}); err != nil || s != "v" && string(got) != string(wantObj[:len(wantObj)-1])+`,"v":`+string(want)+"}" {
			t.Fatalf("ObjectWriter with key %q: %s, %v", s, got, err)
		}
	})
}
