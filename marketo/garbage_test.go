package marketo

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGarbageAnswersAreRetryable(t *testing.T) {
	html := "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
	tests := []struct {
		name       string
		status     int
		body       string
		wantReason string
	}{
		{name: "HTML 200", status: 200, body: html, wantReason: "HTML"},
		{name: "empty 200", status: 200, body: "", wantReason: "empty"},
		{name: "blank 200", status: 200, body: " \n", wantReason: "empty"},
		{name: "truncated JSON", status: 200, body: `{"requestId":"a#1","success":true,"result":[{"id":1,"sta`, wantReason: "truncated"},
		{name: "text 200", status: 200, body: "Service Unavailable", wantReason: "not a JSON object"},
		{name: "JSON array", status: 200, body: `[{"id":1}]`, wantReason: "not a JSON object"},
		{name: "trailing garbage", status: 200, body: `{"success":true,"result":[{"id":1,"status":"created"}]} <html>`, wantReason: "invalid JSON"},
		{name: "no success", status: 200, body: `{"requestId":"a#1","result":[]}`, wantReason: "without success"},
		{name: "false without errors", status: 200, body: `{"requestId":"a#1","success":false,"errors":[]}`, wantReason: "without an error code"},
		{name: "fewer results", status: 200, body: `{"requestId":"a#1","success":true,"result":[]}`, wantReason: "0 results for 1"},
		{name: "more results", status: 200, body: `{"success":true,"result":[{"id":1,"status":"created"},{"id":2,"status":"created"}]}`, wantReason: "2 results for 1"},
		{name: "code not a number", status: 200, body: `{"success":false,"errors":[{"code":"abc","message":"x"}]}`, wantReason: "invalid JSON"},
		{name: "wrong types", status: 200, body: `{"success":"yes"}`, wantReason: "invalid JSON"},
	}
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.setREST(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			resp, err := c.SyncLeads(context.Background(), nil, records(1))
			var be *BadResponseError
			if !errors.As(err, &be) || !be.Temporary() {
				t.Fatalf("err = %#v, want a BadResponseError", err)
			}
			if !strings.Contains(be.Reason, tt.wantReason) || be.Status != tt.status {
				t.Fatalf("reason %q status %d, want %q", be.Reason, be.Status, tt.wantReason)
			}
			if resp == nil || resp.Call.Code != CallBadResponse || resp.Call.Err == "" {
				t.Fatalf("call record = %+v", resp)
			}
		})
	}
}

func TestHTTPLevelErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantErr   error
		temporary bool
	}{
		{name: "413", status: 413, body: "<html>Request Entity Too Large</html>", wantErr: ErrTooLarge},
		{name: "414", status: 414, body: "", wantErr: ErrURITooLong},
		{name: "502 HTML", status: 502, body: "<html>Bad Gateway</html>", wantErr: ErrBadGateway, temporary: true},
		{name: "503", status: 503, body: `{"error":"down"}`, wantErr: ErrServiceUnavail, temporary: true},
		{name: "500", status: 500, body: "oops", wantErr: &HTTPError{Status: 500}, temporary: true},
		{name: "redirect not followed", status: 302, body: "", wantErr: &HTTPError{Status: 302}},
	}
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.setREST(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 302 {
					w.Header().Set("Location", "http://127.0.0.1:1/steal")
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			resp, err := c.SyncLeads(context.Background(), nil, records(1))
			var he *HTTPError
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &he) || he.Temporary() != tt.temporary {
				t.Fatalf("err = %v, want %v (temporary %v)", err, tt.wantErr, tt.temporary)
			}
			if he.Path != SyncLeadsPath || he.Method != "POST" || resp.Call.Status != tt.status {
				t.Fatalf("error %+v, record %+v", he, resp.Call)
			}
		})
	}
}

func TestEndlessBodyStopsAtReadLimit(t *testing.T) {
	f := newFake(t)
	cfg := testConfig(f.URL)
	cfg.ReadLimit = 64 << 10
	c := mustClient(t, cfg)
	f.setREST(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"success":true,"result":[`)
		chunk := []byte(strings.Repeat(`{"id":1,"status":"created"},`, 100))
		for {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up
			}
			if r.Context().Err() != nil {
				return
			}
		}
	})
	resp, err := c.SyncLeads(context.Background(), nil, records(1))
	var be *BadResponseError
	if !errors.As(err, &be) || !strings.Contains(be.Reason, "read limit") {
		t.Fatalf("err = %v, want read limit", err)
	}
	if len(resp.Call.ResponseBody) != RecordBodyLimit {
		t.Fatalf("recorded %d bytes of the endless body, want %d", len(resp.Call.ResponseBody), RecordBodyLimit)
	}
}

func TestTimeouts(t *testing.T) {
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
	}{
		{name: "no answer", handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{name: "slow body", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"success":true,`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	}
	f := newFake(t)
	cfg := testConfig(f.URL)
	cfg.Timeout = 100 * time.Millisecond
	c := mustClient(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.setREST(tt.handler)
			resp, err := c.SyncLeads(context.Background(), nil, records(1))
			var ne net.Error
			if !IsTimeout(err) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("err = %v, want a timeout", err)
			}
			if resp.Call.Code != CallTimeout {
				t.Fatalf("call code %q", resp.Call.Code)
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	mustSync(t, c, 1)
	f.setREST(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	resp, err := c.SyncLeads(context.Background(), nil, records(1))
	var ne *NetError
	if !errors.As(err, &ne) || ne.Timeout() || IsTimeout(err) || !ne.Temporary() || resp.Call.Code != CallNetwork {
		t.Fatalf("dropped connection: err = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	f.setREST(func(w http.ResponseWriter, r *http.Request) { cancel(); <-r.Context().Done() })
	_, err = c.SyncLeads(ctx, nil, records(1))
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ne) || ne.Temporary() {
		t.Fatalf("cancelled: err = %v", err)
	}

	f.Close()
	c2 := mustClient(t, testConfig(f.URL))
	_, err = c2.SyncLeads(context.Background(), nil, records(1))
	if !errors.As(err, &ne) || ne.Path != IdentityPath {
		t.Fatalf("refused: err = %v", err)
	}
}
