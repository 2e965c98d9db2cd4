package strictjson

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// seedBodies are realistic bodies: the contract's event, the seed
// envelopes, and a few shapes the walker treats specially.
func seedBodies(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	files, _ := filepath.Glob("../../testdata/*.json") // the event model's
	more, _ := filepath.Glob("../../testdata/envelopes/*.json")
	if len(files) == 0 || len(more) == 0 {
		t.Fatal("no seed bodies in ../../testdata")
	}
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, s := range []string{
		`{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`, `{ "x" : [ 1 , {"y":"\u0041","\u0079":2} ] , "z":null }`,
		`{"k\"q":"v","k\\"  :  1.50e-7}`, `[]`, `{}`, `"s"`, `12345678901234567890`, `{"a":[[[[[[1]]]]]]}`,
		`{"eventId":"e","parked":{"code":1006},"b":2}`, ` {"a" :1 , "b":[true,false,null] } `,
		strings.Repeat("[", 210) + strings.Repeat("]", 210),
		manyKeys(40, -1), manyKeys(40, 2), manyKeys(17, 0), `{"\u00e9":1,"é":2}`, `{"é":1,"e":2}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// The fast paths accept only what the token walker accepts, with the same
// members, offsets and values; they step aside for everything else.
func TestFastPathsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	bodies := seedBodies(t)
	tried, fast := 0, 0
	for _, body := range bodies {
		for n := 0; n < 400; n++ {
			b := append([]byte(nil), body...)
			if n > 0 { // mutate: flip, insert or delete a few bytes
				for k := 0; k < 1+r.IntN(3); k++ {
					if len(b) == 0 {
						break
					}
					i := r.IntN(len(b))
					switch r.IntN(3) {
					case 0:
						b[i] = `{}[]",:\ ab01e-.`[r.IntN(16)]
					case 1:
						b = append(b[:i], append([]byte{`{}[]",: a1`[r.IntN(10)]}, b[i:]...)...)
					default:
						b = append(b[:i], b[i+1:]...)
					}
				}
			}
			tried++
			if ms, ok := fastMembers(b); ok {
				fast++
				want, err := walkObject(b, "x")
				if err != nil || !reflect.DeepEqual(ms, want) {
					t.Fatalf("fastMembers accepted %q: %+v; walker: %+v, %v", b, ms, want, err)
				}
			}
			for _, depth := range []int{0, 1, 150} {
				if v, ok := fastValue(b, depth); ok {
					want, err := walkStrict(b, "x", depth)
					if err != nil || !reflect.DeepEqual(v, want) {
						t.Fatalf("fastValue(depth %d) accepted %q: %#v; walker: %#v, %v", depth, b, v, want, err)
					}
				}
			}
		}
	}
	if fast < tried/20 {
		t.Errorf("the fast path took only %d of %d bodies: it is not exercised", fast, tried)
	}
	t.Logf("%d bodies, %d through the fast path", tried, fast)
}

// fastMembers is Members' fast path alone: ok is false when it steps aside.
func fastMembers(data []byte) ([]Member, bool) {
	if !Plain(data, 0) {
		return nil, false
	}
	return scanMembers(data)
}

// fastValue is Decode's fast path alone.
func fastValue(raw []byte, depth int) (any, bool) {
	if !Plain(raw, depth) {
		return nil, false
	}
	return scanValue(raw)
}

// manyKeys is an object of n keys, the last repeating key dup (none when
// dup < 0): past 16 keys the duplicate scan changes method.
func manyKeys(n, dup int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		k := i
		if i == n-1 && dup >= 0 {
			k = dup
		}
		fmt.Fprintf(&b, `"k%d":{"x":%d,"y":[1,{"x":2}]},`, k, i)
	}
	b.WriteString(`"end":true}`)
	return b.String()
}

func TestManyKeysDuplicates(t *testing.T) {
	for _, c := range []struct {
		body string
		dup  bool
	}{{manyKeys(40, -1), false}, {manyKeys(40, 2), true}, {manyKeys(17, 0), true}, {manyKeys(200, 150), true}, {manyKeys(200, -1), false}} {
		if got := hasDuplicateOrDeep([]byte(c.body), MaxDepth); got != c.dup {
			t.Errorf("hasDuplicateOrDeep(%.60s…) = %v, want %v", c.body, got, c.dup)
		}
		_, err := walkObject([]byte(c.body), "x")
		if (err != nil) != c.dup {
			t.Errorf("walker on %.60s…: %v", c.body, err)
		}
	}
}

// FuzzFastPathsAgree holds the fast paths to the token walker on any body
// (it was FuzzDecodeEvent's checkFastPaths before the JSON machinery left
// the root package): whatever they accept, the walker accepts with the same
// members and values.
func FuzzFastPathsAgree(f *testing.F) {
	for _, b := range seedBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if ms, ok := fastMembers(data); ok {
			if want, err := walkObject(data, "x"); err != nil || !reflect.DeepEqual(ms, want) {
				t.Fatalf("fastMembers accepted %q: %+v; walker: %+v, %v", data, ms, want, err)
			}
		}
		if v, ok := fastValue(data, 1); ok {
			if want, err := walkStrict(data, "x", 1); err != nil || !reflect.DeepEqual(v, want) {
				t.Fatalf("fastValue accepted %q: %#v; walker: %#v, %v", data, v, want, err)
			}
		}
	})
}
