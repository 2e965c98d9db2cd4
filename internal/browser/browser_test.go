package browser

import (
	"fmt"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records how ForTest ended.
type recorder struct {
	testing.TB
	how, msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(f string, a ...any) {
	r.how, r.msg = "fatal", fmt.Sprintf(f, a...)
	runtime.Goexit()
}
func (r *recorder) Skipf(f string, a ...any) {
	r.how, r.msg = "skip", fmt.Sprintf(f, a...)
	runtime.Goexit()
}

func forTest(tb testing.TB) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ForTest(tb, 0, 0)
	}()
	<-done
}

// Without chromium the browser test skips locally and fails in CI.
func TestMissingChromiumSkipsUnlessRequired(t *testing.T) {
	t.Setenv("REPOST_CHROMIUM", "/nonexistent/chromium")
	for _, c := range []struct{ require, want string }{{"", "skip"}, {"0", "skip"}, {"1", "fatal"}} {
		t.Setenv(RequireEnv, c.require)
		r := &recorder{TB: t}
		forTest(r)
		if r.how != c.want {
			t.Errorf("%s=%q: ForTest ended with %q (%s), want %s", RequireEnv, c.require, r.how, r.msg, c.want)
		}
	}
}
