package marketo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
)

const simSecret = "sim-Secret-Value-42"

// clock is a hand-moved clock shared by the simulator and the client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func mustSim(tb testing.TB, opts marketotest.Options) *marketotest.Server {
	tb.Helper()
	if opts.ClientSecret == "" {
		opts.ClientSecret = simSecret
	}
	s := marketotest.NewServer(opts)
	tb.Cleanup(s.Close)
	return s
}

func mustSimClient(tb testing.TB, s *marketotest.Server, edit func(*marketo.Config)) *marketo.Client {
	tb.Helper()
	o := s.Options()
	cfg := marketo.Config{Subscription: "123-ABC-456", Endpoint: s.URL, ClientID: o.ClientID,
		ClientSecret: o.ClientSecret, AllowInsecure: true}
	if edit != nil {
		edit(&cfg)
	}
	c, err := marketo.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

func leads(n int, format string) []json.RawMessage {
	in := make([]json.RawMessage, n)
	for i := range in {
		in[i] = json.RawMessage(fmt.Sprintf(format, i))
	}
	return in
}

func raw(kv ...string) map[string]json.RawMessage {
	p := map[string]json.RawMessage{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = json.RawMessage(kv[i+1])
	}
	return p
}

func TestSimManyCallsOneIdentityCall(t *testing.T) {
	s := mustSim(t, marketotest.Options{})
	c := mustSimClient(t, s, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 4 {
		wg.Go(func() {
			for j := range 10 {
				_, err := c.SyncLeads(context.Background(), raw("action", `"createOrUpdate"`),
					leads(2, fmt.Sprintf(`{"email":"w%d-%d-%%d@example.com"}`, i, j)))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.IdentityCalls != 1 || st.Calls != 40 || st.QueryTokenUses != 0 || len(st.Violations) != 0 {
		t.Fatalf("stats %+v, want 1 identity call, 40 calls, no query token, no violation", st)
	}
	if s.LeadCount() != 80 {
		t.Fatalf("%d leads, want 80", s.LeadCount())
	}
}

func TestSimReauthOnce(t *testing.T) {
	tests := []struct {
		name string
		code string
		// provoke makes the client's cached token fail with code.
		provoke func(s *marketotest.Server, simClock *clock)
	}{
		{name: "601 revoked", code: "601", provoke: func(s *marketotest.Server, _ *clock) { s.RevokeTokens() }},
		// The client's clock lags: it still trusts a token the server has expired.
		{name: "602 expired", code: "602", provoke: func(_ *marketotest.Server, c *clock) { c.Advance(2 * time.Hour) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			simClock := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			s := mustSim(t, marketotest.Options{Now: simClock.Now, DisableLimits: true})
			var calls []marketo.CallRecord
			c := mustSimClient(t, s, func(cfg *marketo.Config) {
				cfg.OnCall = func(r marketo.CallRecord) { calls = append(calls, r) }
			})
			ctx := context.Background()
			if _, err := c.SyncLeads(ctx, nil, leads(1, `{"email":"a%d@example.com"}`)); err != nil {
				t.Fatal(err)
			}
			tt.provoke(s, simClock)
			resp, err := c.SyncLeads(ctx, nil, leads(1, `{"email":"b%d@example.com"}`))
			if err != nil || resp.Results[0].Status != marketo.StatusCreated {
				t.Fatalf("after %s: %v %+v", tt.code, err, resp)
			}
			st := s.Stats()
			if st.IdentityCalls != 2 || st.ByCode[tt.code] != 1 || st.ByCode["ok"] != 2 {
				t.Fatalf("stats %+v: want 2 identity calls, one %s, two ok", st, tt.code)
			}
			var codes []string
			for _, r := range calls {
				codes = append(codes, r.Path+" "+r.Code)
			}
			want := "/identity/oauth/token ok,/rest/v1/leads.json ok,/rest/v1/leads.json " + tt.code +
				",/identity/oauth/token ok,/rest/v1/leads.json ok"
			if strings.Join(codes, ",") != want {
				t.Fatalf("calls %v", codes)
			}
		})
	}
}

func TestSimWrongSecretIsUnauthorized(t *testing.T) {
	s := mustSim(t, marketotest.Options{})
	c := mustSimClient(t, s, func(cfg *marketo.Config) { cfg.ClientSecret = "not-the-secret" })
	_, err := c.SyncLeads(context.Background(), nil, leads(1, `{"email":"a%d@example.com"}`))
	if !errors.Is(err, marketo.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if st := s.Stats(); st.IdentityFails != 1 || st.Calls != 0 {
		t.Fatalf("stats %+v", st)
	}
	if strings.Contains(err.Error(), "not-the-secret") {
		t.Fatalf("secret in %q", err)
	}
}

func TestSimMixedResultsInInputOrder(t *testing.T) {
	s := mustSim(t, marketotest.Options{})
	existing, err := s.AddLead(map[string]any{"email": "old@example.com", "firstName": "Old"})
	if err != nil {
		t.Fatal(err)
	}
	c := mustSimClient(t, s, nil)
	in := []json.RawMessage{
		json.RawMessage(`{"email":"new@example.com","numberOfEmployees":12345678901234}`),
		json.RawMessage(`{"email":"old@example.com","firstName":"Renamed"}`),
		json.RawMessage(`{"email":"role@example.com","role":"CTO"}`),
		json.RawMessage(`{"email":"bad@example.com","numberOfEmployees":"many"}`),
	}
	resp, err := c.SyncLeads(context.Background(), raw("action", `"createOrUpdate"`, "lookupField", `"email"`), in)
	if err != nil {
		t.Fatal(err)
	}
	created, _ := s.Lead("email", "new@example.com")
	want := []struct {
		id     int64
		status string
		err    error
	}{
		{created["id"].(int64), marketo.StatusCreated, nil},
		{existing, marketo.StatusUpdated, nil},
		{0, marketo.StatusSkipped, marketo.ErrFieldNotFound},
		{0, marketo.StatusSkipped, marketo.ErrInvalidValue},
	}
	for i, w := range want {
		r := resp.Results[i]
		if r.ID != w.id || r.Status != w.status || (w.err == nil) != (r.Err() == nil) || w.err != nil && !errors.Is(r.Err(), w.err) {
			t.Errorf("result %d = %+v, want %+v", i, r, w)
		}
	}
	if got := created["numberOfEmployees"]; got != int64(12345678901234) {
		t.Errorf("numberOfEmployees stored as %v (%T)", got, got)
	}
	if resp.Results[2].Reasons[0].Message != "Field 'role' not found" {
		t.Errorf("1006 message %q", resp.Results[2].Reasons[0].Message)
	}

	// Push Lead: a known status adds the lead to the program, an unknown one is 1025.
	p := raw("programName", `"`+marketotest.DefaultProgram+`"`, "programStatus", `"Registered"`, "source", `"DAP"`)
	resp, err = c.PushLead(context.Background(), p, leads(2, `{"email":"push%d@example.com"}`))
	if err != nil || resp.Results[0].Status != marketo.StatusCreated || resp.Results[1].Status != marketo.StatusCreated {
		t.Fatalf("push: %v %+v", err, resp)
	}
	if st, ok := s.Membership(resp.Results[1].ID, marketotest.DefaultProgram); !ok || st != "Registered" {
		t.Fatalf("membership %q %v", st, ok)
	}
	p["programStatus"] = json.RawMessage(`"Nope"`)
	resp, err = c.PushLead(context.Background(), p, leads(1, `{"email":"push%d@example.com"}`))
	if err != nil || !errors.Is(resp.Results[0].Err(), marketo.ErrProgramStatusNotFound) {
		t.Fatalf("push unknown status: %v %+v", err, resp)
	}
}

func TestSimSizeLimits(t *testing.T) {
	s := mustSim(t, marketotest.Options{})
	c := mustSimClient(t, s, nil)
	ctx := context.Background()
	if _, err := c.SyncLeads(ctx, nil, leads(300, `{"email":"l%d@example.com"}`)); err != nil {
		t.Fatalf("300 records: %v", err)
	}
	if _, err := c.SyncLeads(ctx, nil, leads(301, `{"email":"l%d@example.com"}`)); !errors.Is(err, marketo.ErrTooManyRecords) {
		t.Fatalf("301 records: %v", err)
	}
	huge := json.RawMessage(`{"email":"h@example.com","company":"` + strings.Repeat("x", marketo.MaxBodyBytes) + `"}`)
	if _, err := c.SyncLeads(ctx, nil, []json.RawMessage{huge}); !errors.Is(err, marketo.ErrTooLarge) {
		t.Fatalf("over 1 MB: %v", err)
	}
	if st := s.Stats(); st.Calls != 1 || len(st.Violations) != 0 {
		t.Fatalf("refused calls reached the simulator: %+v", st)
	}

	// A Marketo with a smaller body limit answers 413.
	small := mustSim(t, marketotest.Options{Limits: marketotest.Limits{MaxBodyBytes: 4 << 10}})
	c = mustSimClient(t, small, nil)
	_, err := c.SyncLeads(ctx, nil, leads(200, `{"email":"l%d@example.com"}`))
	var he *marketo.HTTPError
	if !errors.Is(err, marketo.ErrTooLarge) || !errors.As(err, &he) || he.Status != 413 {
		t.Fatalf("413: %v", err)
	}
	if st := small.Stats(); st.Violations[413] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSimFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults marketotest.Faults
		check  func(error) bool
	}{
		{name: "html", faults: marketotest.Faults{RateHTML: 1}, check: isBadResponse},
		{name: "truncated", faults: marketotest.Faults{RateTruncated: 1}, check: isBadResponse},
		{name: "502", faults: marketotest.Faults{Rate502: 1}, check: func(err error) bool { return errors.Is(err, marketo.ErrBadGateway) }},
		{name: "604", faults: marketotest.Faults{Rate604: 1}, check: func(err error) bool { return errors.Is(err, marketo.ErrRequestTimedOut) }},
		{name: "608", faults: marketotest.Faults{Rate608: 1}, check: func(err error) bool { return errors.Is(err, marketo.ErrUnavailable) }},
		{name: "611", faults: marketotest.Faults{Rate611: 1}, check: func(err error) bool { return errors.Is(err, marketo.ErrSystemError) }},
		{name: "713", faults: marketotest.Faults{Rate713: 1}, check: func(err error) bool { return errors.Is(err, marketo.ErrTransient) }},
		{name: "drop", faults: marketotest.Faults{RateDrop: 1}, check: func(err error) bool {
			var ne *marketo.NetError
			return errors.As(err, &ne) && !ne.Timeout()
		}},
		{name: "slow", faults: marketotest.Faults{RateSlow: 1, SlowDelay: time.Minute}, check: marketo.IsTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSim(t, marketotest.Options{Faults: tt.faults})
			c := mustSimClient(t, s, func(cfg *marketo.Config) { cfg.Timeout = 300 * time.Millisecond })
			_, err := c.SyncLeads(context.Background(), nil, leads(3, `{"email":"f%d@example.com"}`))
			if !tt.check(err) {
				t.Fatalf("err = %#v (%v)", err, err)
			}
		})
	}
}

func isBadResponse(err error) bool {
	var be *marketo.BadResponseError
	return errors.As(err, &be) && be.Temporary()
}

func TestSimRateLimitIsTyped(t *testing.T) {
	s := mustSim(t, marketotest.Options{Limits: marketotest.Limits{CallsPerWindow: 2, Window: time.Hour}})
	c := mustSimClient(t, s, nil)
	var err error
	for i := range 3 {
		_, err = c.SyncLeads(context.Background(), nil, leads(1, fmt.Sprintf(`{"email":"r%d-%%d@example.com"}`, i)))
	}
	var ae *marketo.APIError
	if !errors.Is(err, marketo.ErrRateLimited) || !errors.As(err, &ae) || ae.RequestID == "" {
		t.Fatalf("third call: %v", err)
	}
}

func TestSimRevokedTokenStormRefreshesOnce(t *testing.T) {
	s := mustSim(t, marketotest.Options{DisableLimits: true})
	c := mustSimClient(t, s, nil)
	ctx := context.Background()
	if _, err := c.SyncLeads(ctx, nil, leads(1, `{"email":"first%d@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	s.RevokeTokens()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			_, err := c.SyncLeads(ctx, nil, leads(1, fmt.Sprintf(`{"email":"storm%d-%%d@example.com"}`, i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.IdentityCalls != 2 || st.ByCode["ok"] != 11 {
		t.Fatalf("stats %+v: want 2 identity calls, 11 ok", st)
	}
}

func TestSimLongGetBecomesPost(t *testing.T) {
	tests := []struct {
		name       string
		limits     marketotest.Limits
		leads      int
		want414s   int
		wantMethod string
	}{
		{name: "short GET", leads: 3, wantMethod: "GET"},
		{name: "over 8 KB sent as POST", leads: 250, wantMethod: "POST"},
		{name: "414 answer resent as POST", limits: marketotest.Limits{MaxURIBytes: 300}, leads: 20, want414s: 1, wantMethod: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSim(t, marketotest.Options{Limits: tt.limits})
			var emails []string
			for i := range tt.leads {
				e := fmt.Sprintf("a-rather-long-address-number-%03d@example.com", i)
				if _, err := s.AddLead(map[string]any{"email": e}); err != nil {
					t.Fatal(err)
				}
				emails = append(emails, e)
			}
			c := mustSimClient(t, s, nil)
			q := url.Values{"filterType": {"email"}, "filterValues": {strings.Join(emails, ",")}, "fields": {"email,firstName"}}
			resp, err := c.DoGet(context.Background(), marketo.SyncLeadsPath, q)
			if err != nil {
				t.Fatal(err)
			}
			var got []struct {
				ID    int64  `json:"id"`
				Email string `json:"email"`
			}
			if err := json.Unmarshal(resp.Result, &got); err != nil || len(got) != tt.leads {
				t.Fatalf("%d leads (%v), want %d", len(got), err, tt.leads)
			}
			if resp.Call.Method != tt.wantMethod {
				t.Fatalf("sent as %s, want %s", resp.Call.Method, tt.wantMethod)
			}
			if st := s.Stats(); st.Violations[414] != tt.want414s || st.ByCode["ok"] != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
