package randid

import (
	"encoding/hex"
	"strings"
	"testing"
)

// Every caller's size gives 2n hex digits, and two calls do not repeat.
func TestHex(t *testing.T) {
	for _, n := range []int{0, 6, 12, 16} {
		a, b := Hex(n), Hex(n)
		if len(a) != 2*n {
			t.Errorf("Hex(%d) = %q: %d digits, want %d", n, a, len(a), 2*n)
		}
		if _, err := hex.DecodeString(a); err != nil || strings.ToLower(a) != a {
			t.Errorf("Hex(%d) = %q: not lowercase hex (%v)", n, a, err)
		}
		if n > 0 && a == b {
			t.Errorf("Hex(%d) repeated %q", n, a)
		}
	}
}
