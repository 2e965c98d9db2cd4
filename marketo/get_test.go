package marketo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

type seenGet struct {
	method, override, query, form, contentType string
}

func TestDoGet(t *testing.T) {
	long := strings.Repeat("0123456789abcdef,", 600) // ≈ 10 KB of filter values
	tests := []struct {
		name     string
		answer   func(n int) int // HTTP status for the n-th request
		query    url.Values
		wantSeen []string // method of each request sent
	}{
		{name: "short GET", query: url.Values{"filterType": {"email"}, "filterValues": {"a@example.com"}}, wantSeen: []string{"GET"}},
		{name: "long GET sent as POST", query: url.Values{"filterType": {"id"}, "filterValues": {long}}, wantSeen: []string{"POST"}},
		{name: "414 resent as POST", query: url.Values{"filterType": {"email"}, "filterValues": {"a@example.com"}},
			answer: func(n int) int { return map[bool]int{true: 414, false: 200}[n == 1] }, wantSeen: []string{"GET", "POST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := mustClient(t, testConfig(f.URL))
			var mu sync.Mutex
			var seen []seenGet
			f.setREST(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				seen = append(seen, seenGet{r.Method, r.URL.Query().Get("_method"), r.URL.RawQuery, string(body), r.Header.Get("Content-Type")})
				n := len(seen)
				mu.Unlock()
				if tt.answer != nil && tt.answer(n) != 200 {
					w.WriteHeader(tt.answer(n))
					return
				}
				io.WriteString(w, `{"requestId":"g#1","success":true,"result":[{"id":7,"email":"a@example.com"}]}`)
			})
			resp, err := c.DoGet(context.Background(), "/rest/v1/leads.json", tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Result) != `[{"id":7,"email":"a@example.com"}]` {
				t.Fatalf("result %s", resp.Result)
			}
			if len(seen) != len(tt.wantSeen) {
				t.Fatalf("requests %+v, want methods %v", seen, tt.wantSeen)
			}
			for i, m := range tt.wantSeen {
				s := seen[i]
				switch {
				case s.method != m:
					t.Fatalf("request %d method %s, want %s", i, s.method, m)
				case m == "GET" && s.query != tt.query.Encode():
					t.Fatalf("GET query %q", s.query)
				case m == "POST" && (s.override != "GET" || s.form != tt.query.Encode() ||
					s.contentType != "application/x-www-form-urlencoded" || s.query != "_method=GET"):
					t.Fatalf("POST as GET: %+v", s)
				}
			}
			if resp.Call.Method != tt.wantSeen[len(tt.wantSeen)-1] || strings.Contains(resp.Call.Path, "?") {
				t.Fatalf("record %+v", resp.Call)
			}
		})
	}
}

func TestDescribeProbe(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	var path string
	f.setREST(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		io.WriteString(w, `{"requestId":"d#1","success":true,"result":[{"id":2,"displayName":"Company Name","dataType":"string","rest":{"name":"company"}}]}`)
	})
	resp, err := c.Describe(context.Background())
	if err != nil || path != DescribePath || !strings.Contains(string(resp.Result), "company") {
		t.Fatalf("describe: %v, path %q, resp %+v", err, path, resp)
	}
	f.setREST(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"requestId":"d#2","success":false,"errors":[{"code":"603","message":"Access denied"}]}`)
	})
	if _, err := c.Describe(context.Background()); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("err = %v, want 603", err)
	}
	if _, err := c.DoGet(context.Background(), "/identity/oauth/token", nil); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("DoGet outside /rest/: %v", err)
	}
}
