package marketo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestBodyIsVerbatim(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	in := []json.RawMessage{
		json.RawMessage(`{"email":"a@example.com","big":12345678901234567890,"price":1.50,"zip":"007","exp":1e3}`),
		json.RawMessage(`{ "email" : "b@example.com", "ok": true, "none": null, "név": "Ádám\u00e9" }`),
	}
	p := params("action", `"createOnly"`, "lookupField", `"email"`, "partitionName", `"Default"`, "asyncProcessing", `false`)
	if _, err := c.SyncLeads(context.Background(), p, in); err != nil {
		t.Fatal(err)
	}
	want := `{"action":"createOnly","asyncProcessing":false,"lookupField":"email","partitionName":"Default","input":[` +
		string(in[0]) + "," + string(in[1]) + "]}"
	if got := string(f.body()); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}

func TestPostRefusesBeforeSending(t *testing.T) {
	big := json.RawMessage(`{"email":"x@example.com","notes":"` + strings.Repeat("x", MaxBodyBytes) + `"}`)
	fourK := json.RawMessage(`{"email":"x@example.com","notes":"` + strings.Repeat("y", 4000) + `"}`)
	many := make([]json.RawMessage, 270)
	for i := range many {
		many[i] = fourK // 270 × 4 KB > 1 MB, under 300 records
	}
	tests := []struct {
		name    string
		req     LeadsRequest
		wantErr error
	}{
		{name: "301 records", req: LeadsRequest{Endpoint: SyncLeadsPath, Input: records(301)}, wantErr: ErrTooManyRecords},
		{name: "one lead over 1 MB", req: LeadsRequest{Endpoint: SyncLeadsPath, Input: []json.RawMessage{big}}, wantErr: ErrTooLarge},
		{name: "270 leads over 1 MB", req: LeadsRequest{Endpoint: SyncLeadsPath, Input: many}, wantErr: ErrTooLarge},
		{name: "no input", req: LeadsRequest{Endpoint: SyncLeadsPath}, wantErr: ErrInvalidRequest},
		{name: "input as param", req: LeadsRequest{Endpoint: SyncLeadsPath, Params: params("input", "[]"), Input: records(1)}, wantErr: ErrInvalidRequest},
		{name: "param not JSON", req: LeadsRequest{Endpoint: SyncLeadsPath, Params: params("action", "createOnly"), Input: records(1)}, wantErr: ErrInvalidRequest},
		{name: "record not an object", req: LeadsRequest{Endpoint: SyncLeadsPath, Input: []json.RawMessage{json.RawMessage(`[1]`)}}, wantErr: ErrInvalidRequest},
		{name: "record truncated", req: LeadsRequest{Endpoint: SyncLeadsPath, Input: []json.RawMessage{json.RawMessage(`{"email":`)}}, wantErr: ErrInvalidRequest},
		{name: "not a rest path", req: LeadsRequest{Endpoint: "http://evil.example/rest/v1/leads.json", Input: records(1)}, wantErr: ErrInvalidRequest},
		{name: "path with query", req: LeadsRequest{Endpoint: SyncLeadsPath + "?access_token=x", Input: records(1)}, wantErr: ErrInvalidRequest},
	}
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.Post(context.Background(), tt.req)
			if !errors.Is(err, tt.wantErr) || resp != nil {
				t.Fatalf("err = %v, resp = %v; want %v", err, resp, tt.wantErr)
			}
		})
	}
	if n := f.restCalls.Load() + f.identityCalls.Load(); n != 0 {
		t.Fatalf("%d calls made for refused requests", n)
	}
	var se *SizeError
	_, err := c.Post(context.Background(), LeadsRequest{Endpoint: SyncLeadsPath, Input: many})
	if !errors.As(err, &se) || se.Records != 270 || se.Bytes <= MaxBodyBytes || se.Limit != MaxBodyBytes {
		t.Fatalf("size error = %+v", se)
	}
}

func TestPostExactly300RecordsAndOneMegabyte(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	if _, err := c.SyncLeads(context.Background(), nil, records(300)); err != nil {
		t.Fatalf("300 records: %v", err)
	}
	// A body of exactly MaxBodyBytes is sent.
	overhead := len(`{"input":[]}`) + len(`{"email":"x@example.com","notes":""}`)
	rec := json.RawMessage(`{"email":"x@example.com","notes":"` + strings.Repeat("z", MaxBodyBytes-overhead) + `"}`)
	if _, err := c.SyncLeads(context.Background(), nil, []json.RawMessage{rec}); err != nil {
		t.Fatalf("body of exactly 1 MB: %v", err)
	}
	if got := len(f.body()); got != MaxBodyBytes {
		t.Fatalf("body = %d bytes, want %d", got, MaxBodyBytes)
	}
}

func TestPushLeadNeedsProgram(t *testing.T) {
	c := mustClient(t, testConfig("http://127.0.0.1:9"))
	if _, err := c.PushLead(context.Background(), nil, records(1)); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("err = %v", err)
	}
}

func TestResultsMapInInputOrder(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	f.setREST(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"requestId":"10d#1","success":true,"warnings":["w1"],"result":[
			{"id":11,"status":"created"},
			{"id":"12","status":"updated","reasons":[]},
			{"id":null,"status":"skipped","reasons":[{"code":"1006","message":"Field 'role' not found"}]},
			{"status":"skipped","reasons":[{"code":1001,"message":"Invalid value 'x'. Required of type 'integer'"}]},
			{"id":null,"status":"skipped","reasons":[{"code":"1025","message":"Program status not found"},{"code":"1013","message":"x"}]}]}`)
	})
	resp, err := c.SyncLeads(context.Background(), nil, records(5))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id     int64
		status string
		code   error
	}{{11, StatusCreated, nil}, {12, StatusUpdated, nil}, {0, StatusSkipped, ErrFieldNotFound},
		{0, StatusSkipped, ErrInvalidValue}, {0, StatusSkipped, ErrProgramStatusNotFound}}
	for i, w := range want {
		r := resp.Results[i]
		if r.ID != w.id || r.Status != w.status || !errors.Is(r.Err(), w.code) && w.code != nil || w.code == nil && r.Err() != nil {
			t.Errorf("result %d = %+v, want %+v", i, r, w)
		}
	}
	if resp.RequestID != "10d#1" || !resp.Success || len(resp.Warnings) != 1 || resp.Call.RequestID != "10d#1" {
		t.Fatalf("response = %+v", resp)
	}
	if len(resp.Results[4].Reasons) != 2 || resp.Results[2].Reasons[0].Message != "Field 'role' not found" {
		t.Fatalf("reasons = %+v", resp.Results)
	}
}

func TestAPIErrorsMatchSentinels(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr error
	}{
		{name: "606 quoted", body: `{"requestId":"a#1","success":false,"errors":[{"code":"606","message":"Max rate limit '100' exceeded with in '20' secs"}]}`, wantErr: ErrRateLimited},
		{name: "607 number", body: `{"requestId":"a#2","success":false,"errors":[{"code":607,"message":"Daily quota reached"}]}`, wantErr: ErrDailyQuota},
		{name: "603", body: `{"success":false,"errors":[{"code":"603","message":"Access denied"}]}`, wantErr: ErrAccessDenied},
		{name: "604", body: `{"success":false,"errors":[{"code":"604","message":"Request timed out"}]}`, wantErr: ErrRequestTimedOut},
		{name: "608", body: `{"success":false,"errors":[{"code":"608","message":"x"}]}`, wantErr: ErrUnavailable},
		{name: "611", body: `{"success":false,"errors":[{"code":"611","message":"System error"}]}`, wantErr: ErrSystemError},
		{name: "615", body: `{"success":false,"errors":[{"code":"615","message":"Concurrent access limit reached"}]}`, wantErr: ErrConcurrencyLimit},
		{name: "713", body: `{"success":false,"errors":[{"code":"713","message":"Transient Error"}]}`, wantErr: ErrTransient},
		{name: "1003 at response level", body: `{"success":false,"errors":[{"code":"1003","message":"Invalid data"}]}`, wantErr: ErrInvalidData},
	}
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.setREST(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tt.body) })
			resp, err := c.SyncLeads(context.Background(), nil, records(1))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(err, ErrAccessTokenInvalid) && tt.wantErr != ErrAccessTokenInvalid {
				t.Fatal("matches an unrelated sentinel")
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Message == "" {
				t.Fatalf("not an APIError with a message: %#v", err)
			}
			if resp == nil || resp.Call.Code != strconv.Itoa(ae.Code) {
				t.Fatalf("call code = %q for %v", resp.Call.Code, err)
			}
		})
	}
}

func TestSentinelCodesAreDistinct(t *testing.T) {
	seen := map[int]bool{}
	for _, s := range []*APIError{ErrAccessTokenInvalid, ErrAccessTokenExpired, ErrAccessDenied, ErrRequestTimedOut,
		ErrMethodNotSupported, ErrRateLimited, ErrDailyQuota, ErrUnavailable, ErrInvalidJSON, ErrNotFound,
		ErrSystemError, ErrInvalidContentType, ErrInvalidMultipart, ErrInvalidSubscription, ErrConcurrencyLimit,
		ErrInvalidSubscriptionType, ErrBlankValue, ErrNoData, ErrInvalidDateFormat, ErrBusinessRule, ErrTransient,
		ErrLockWaitTimeout, ErrInvalidValue, ErrMissingValue, ErrInvalidData, ErrLeadNotFound, ErrLeadExists,
		ErrFieldNotFound, ErrMultipleLeads, ErrPartitionAccessDenied, ErrPartitionRequired, ErrPartitionUpdate,
		ErrFieldNotSupported, ErrObjectNotFound, ErrTooManyImports, ErrImportInProgress, ErrProgramStatusNotFound,
		ErrTooManyJobs, ErrDuplicateObject, ErrLeadSkipped, ErrFailedToCreateActivity} {
		if seen[s.Code] {
			t.Errorf("code %d twice", s.Code)
		}
		seen[s.Code] = true
	}
	// Every Marketo code of CONTRACT §6 has a sentinel.
	for _, code := range []int{601, 602, 603, 604, 605, 606, 607, 608, 609, 610, 611, 612, 613, 614, 615, 616,
		701, 704, 709, 713, 719, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1013, 1016,
		1019, 1025, 1029, 1036, 1037, 1049} {
		if !seen[code] {
			t.Errorf("no sentinel for %d", code)
		}
	}
}

func TestRequestHeaders(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	var ct, accept string
	f.setREST(func(w http.ResponseWriter, r *http.Request) {
		ct, accept = r.Header.Get("Content-Type"), r.Header.Get("Accept")
		f.defaultLeads(w, r)
	})
	mustSync(t, c, 1)
	if ct != "application/json" || accept != "application/json" {
		t.Fatalf("content-type %q accept %q", ct, accept)
	}
	if !bytes.HasPrefix(f.body(), []byte(`{"input":[`)) {
		t.Fatalf("body %s", f.body())
	}
}
