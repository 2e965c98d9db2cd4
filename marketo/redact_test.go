package marketo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// tokenMark is part of every token the fake hands out.
const tokenMark = "abcdef0123456789"

func TestNoSecretEscapes(t *testing.T) {
	f := newFake(t)
	core, logs := observer.New(zapcore.DebugLevel)
	rec := &recorder{}
	cfg := testConfig(f.URL)
	cfg.Logger = zap.New(core)
	cfg.OnCall = rec.add
	cfg.Timeout = 200 * time.Millisecond
	c := mustClient(t, cfg)
	var errs []error
	call := func(h http.HandlerFunc) {
		f.setREST(h)
		_, err := c.SyncLeads(context.Background(), nil, records(1))
		errs = append(errs, err)
	}
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprintf(w, "<html>auth=%s url=%s secret=%s</html>", r.Header.Get("Authorization"), r.URL, testSecret)
		}
	}
	call(nil) // success: identity answer recorded
	call(echo(500))
	call(echo(200))
	call(func(w http.ResponseWriter, r *http.Request) { // 601 twice, the message quoting the token
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		fmt.Fprintf(w, `{"requestId":"x#1","success":false,"errors":[{"code":"601","message":"Access token invalid: %s"}]}`, tok)
	})
	call(func(w http.ResponseWriter, r *http.Request) { // truncated JSON quoting the token
		fmt.Fprintf(w, `{"success":true,"result":[{"note":"%s`, r.Header.Get("Authorization"))
	})
	call(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }) // timeout

	// Identity failures: an echoing 401, garbage, and a refused connection,
	// whose *url.Error would print the URL with client_secret in it.
	idEcho := newEchoIdentity(t)
	for _, url := range []string{idEcho.URL + "/401", idEcho.URL + "/garbage", "http://127.0.0.1:1"} {
		cfg2 := cfg
		cfg2.Endpoint = url
		c2 := mustClient(t, cfg2)
		_, err := c2.SyncLeads(context.Background(), nil, records(1))
		errs = append(errs, err)
	}

	var texts []string
	for _, err := range errs[1:] {
		if err == nil {
			t.Fatal("expected an error")
		}
		texts = append(texts, err.Error(), fmt.Sprintf("%v|%+v", err, err))
	}
	if len(rec.all()) < 9 {
		t.Fatalf("only %d call records", len(rec.all()))
	}
	for _, r := range rec.all() {
		texts = append(texts, fmt.Sprintf("%+v", r), string(r.RequestBody), string(r.ResponseBody))
	}
	for _, e := range logs.All() {
		texts = append(texts, e.Message, fmt.Sprintf("%v", e.ContextMap()))
	}
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, s := range texts {
		for _, secret := range []string{testSecret, tokenMark, "Bearer tok"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaked in %q", secret, s)
			}
		}
	}
	if !strings.Contains(strings.Join(texts, "\n"), redacted) {
		t.Fatal("nothing was redacted: the test did not exercise leaks")
	}
}

// newEchoIdentity answers identity with the request URL (credentials
// included) in a 401 page or in a garbage 200.
func newEchoIdentity(tb testing.TB) *fakeMarketo {
	f := newFake(tb)
	mux := http.NewServeMux()
	mux.HandleFunc("/401/identity/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		fmt.Fprintf(w, `{"error":"unauthorized","error_description":"Bad client credentials for %s"}`, r.URL)
	})
	mux.HandleFunc("/garbage/identity/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"access_token":"tok-9-%s","expires_in":`, tokenMark)
		io.WriteString(w, r.URL.RawQuery)
	})
	f.Config.Handler = mux
	return f
}

func TestRedactorForms(t *testing.T) {
	r := newRedactor(testSecret)
	r.remember("tok-1-" + tokenMark)
	tests := []struct {
		name, in, want string
	}{
		{name: "json field", in: `{"access_token":"anything:else","expires_in":5}`, want: `{"access_token":"[redacted]","expires_in":5}`},
		{name: "query", in: `GET /x?client_id=a&client_secret=zzz&access_token=yyy`, want: `GET /x?client_id=a&client_secret=[redacted]&access_token=[redacted]`},
		{name: "header", in: `Authorization: Bearer abc.def`, want: `Authorization: Bearer [redacted]`},
		{name: "known secret", in: "x " + testSecret + " y", want: "x [redacted] y"},
		{name: "known token", in: "x tok-1-" + tokenMark + " y", want: "x [redacted] y"},
		{name: "clean", in: `{"email":"a@example.com"}`, want: `{"email":"a@example.com"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.string(tt.in); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := r.clip([]byte(strings.Repeat("a", 3*RecordBodyLimit))); len(got) != RecordBodyLimit {
		t.Fatalf("clip kept %d bytes", len(got))
	}
}
