package marketotest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injected clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := NewServer(opts)
	tb.Cleanup(s.Close)
	return s
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
}

func identity(tb testing.TB, s *Server, id, secret string) (int, tokenAnswer) {
	tb.Helper()
	q := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	resp, err := s.Client().Get(s.URL + IdentityPath + "?" + q.Encode())
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var a tokenAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		tb.Fatalf("identity answer: %v", err)
	}
	return resp.StatusCode, a
}

func mustToken(tb testing.TB, s *Server) string {
	tb.Helper()
	status, a := identity(tb, s, DefaultClientID, DefaultClientSecret)
	if status != http.StatusOK || a.AccessToken == "" {
		tb.Fatalf("identity: %d %+v", status, a)
	}
	return a.AccessToken
}

// reply is a REST answer as a client sees it.
type reply struct {
	Status int
	Body   []byte
	Env    struct {
		RequestID string   `json:"requestId"`
		Success   bool     `json:"success"`
		Result    []Result `json:"result"`
		Errors    []Reason `json:"errors"`
	}
	JSONErr error
}

// code is the response-level code, "ok" on success, or the HTTP status.
func (r reply) code() string {
	switch {
	case r.Status != http.StatusOK:
		return strconv.Itoa(r.Status)
	case r.JSONErr != nil:
		return "garbage"
	case r.Env.Success:
		return CodeOK
	case len(r.Env.Errors) > 0:
		return r.Env.Errors[0].Code
	}
	return "?"
}

type call struct {
	method, path, token, ctype string
	body                       []byte
}

func do(tb testing.TB, s *Server, c call) (reply, error) {
	tb.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	if c.ctype == "" {
		c.ctype = "application/json"
	}
	req, err := http.NewRequest(c.method, s.URL+c.path, bytes.NewReader(c.body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", c.ctype)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	var r reply
	r.Status = resp.StatusCode
	if r.Body, err = io.ReadAll(resp.Body); err != nil {
		return r, err
	}
	r.JSONErr = json.Unmarshal(r.Body, &r.Env)
	return r, nil
}

func mustDo(tb testing.TB, s *Server, c call) reply {
	tb.Helper()
	r, err := do(tb, s, c)
	if err != nil {
		tb.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	return r
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// syncLeads posts a Sync Leads call with the given parameters and records.
func syncLeads(tb testing.TB, s *Server, tok string, params map[string]any, input ...map[string]any) reply {
	tb.Helper()
	body := map[string]any{"input": input}
	for k, v := range params {
		body[k] = v
	}
	return mustDo(tb, s, call{path: SyncLeadsPath, token: tok, body: mustJSON(tb, body)})
}

func rec(email string, kv ...any) map[string]any {
	m := map[string]any{"email": email}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// checkFor polls cond until it holds or the deadline passes.
func checkFor(tb testing.TB, timeout time.Duration, cond func() bool, what string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func jsonUnmarshalReader(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
