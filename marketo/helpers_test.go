package marketo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testSub    = "123-ABC-456"
	testID     = "client-id-1"
	testSecret = "s3cr3t-Client-Secret-Value"
)

// fakeMarketo is a minimal Marketo for unit tests: identity plus a lead
// handler that tests can replace to answer anything.
type fakeMarketo struct {
	*httptest.Server
	identityCalls atomic.Int64
	restCalls     atomic.Int64
	tokenSeq      atomic.Int64
	expiresIn     atomic.Int64
	zeroAnswers   atomic.Int64  // identity answers left with expires_in 0
	identityGate  chan struct{} // when non-nil, identity waits for it

	mu        sync.Mutex
	token     string
	rest      http.HandlerFunc
	badAuth   []string // problems seen in REST requests' credentials
	lastBody  []byte
	lastQuery string
}

func newFake(tb testing.TB) *fakeMarketo {
	tb.Helper()
	f := &fakeMarketo{}
	f.expiresIn.Store(3600)
	mux := http.NewServeMux()
	mux.HandleFunc("/identity/oauth/token", f.identity)
	mux.HandleFunc("/rest/", f.serveREST)
	f.Server = httptest.NewServer(mux)
	tb.Cleanup(f.Close)
	return f
}

func (f *fakeMarketo) identity(w http.ResponseWriter, r *http.Request) {
	f.identityCalls.Add(1)
	if f.identityGate != nil {
		<-f.identityGate
	}
	q := r.URL.Query()
	if q.Get("grant_type") != "client_credentials" || q.Get("client_id") != testID || q.Get("client_secret") != testSecret {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"unauthorized","error_description":"Bad client credentials"}`)
		return
	}
	tok := fmt.Sprintf("tok-%d-abcdef0123456789:ab", f.tokenSeq.Add(1))
	f.mu.Lock()
	f.token = tok
	f.mu.Unlock()
	exp := f.expiresIn.Load()
	if f.zeroAnswers.Add(-1) >= 0 {
		exp = 0
	}
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":%d,"scope":"api@x.com"}`, tok, exp)
}

func (f *fakeMarketo) currentToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.token
}

func (f *fakeMarketo) setREST(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rest = h
}

func (f *fakeMarketo) serveREST(w http.ResponseWriter, r *http.Request) {
	f.restCalls.Add(1)
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	f.mu.Lock()
	f.lastBody, f.lastQuery = body, r.URL.RawQuery
	if r.URL.Query().Has("access_token") {
		f.badAuth = append(f.badAuth, "access_token in query")
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		f.badAuth = append(f.badAuth, "no bearer header")
	}
	h := f.rest
	f.mu.Unlock()
	if h == nil {
		h = f.defaultLeads
	}
	h(w, r)
}

func (f *fakeMarketo) authProblems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.badAuth...)
}

func (f *fakeMarketo) body() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastBody
}

// defaultLeads checks the token and creates every record.
func (f *fakeMarketo) defaultLeads(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.currentToken() {
		io.WriteString(w, `{"requestId":"e42b#1","success":false,"errors":[{"code":"601","message":"Access token invalid"}]}`)
		return
	}
	var req struct{ Input []json.RawMessage }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		io.WriteString(w, `{"requestId":"e42b#2","success":false,"errors":[{"code":"609","message":"Invalid JSON"}]}`)
		return
	}
	writeCreated(w, len(req.Input))
}

func writeCreated(w io.Writer, n int) {
	var b strings.Builder
	b.WriteString(`{"requestId":"abc#123","success":true,"result":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"status":"created"}`, 1000+i)
	}
	b.WriteString("]}")
	io.WriteString(w, b.String())
}

// recorder collects CallRecords.
type recorder struct {
	mu   sync.Mutex
	recs []CallRecord
}

func (r *recorder) add(c CallRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, c)
}

func (r *recorder) all() []CallRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]CallRecord(nil), r.recs...)
}

func testConfig(url string) Config {
	return Config{Subscription: testSub, Endpoint: url, ClientID: testID, ClientSecret: testSecret, AllowInsecure: true}
}

func mustClient(tb testing.TB, cfg Config) *Client {
	tb.Helper()
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	c.pollEvery = 5 * time.Millisecond
	c.zeroPause = 10 * time.Millisecond
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

func records(n int) []json.RawMessage {
	in := make([]json.RawMessage, n)
	for i := range in {
		in[i] = json.RawMessage(fmt.Sprintf(`{"email":"lead%d@example.com","firstName":"Ann","score":%d}`, i, i))
	}
	return in
}

func params(kv ...string) map[string]json.RawMessage {
	p := map[string]json.RawMessage{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = json.RawMessage(kv[i+1])
	}
	return p
}

// checkFor polls cond until it holds or the deadline passes.
func checkFor(tb testing.TB, d time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met after %v: %v", d, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
