package marketotest

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestIdentity(t *testing.T) {
	clk := newClock(t0)
	s := mustServer(t, Options{Now: clk.Now, TokenTTL: time.Hour})
	status, a := identity(t, s, DefaultClientID, DefaultClientSecret)
	if status != 200 || a.TokenType != "bearer" || a.ExpiresIn != 3600 || a.Scope == "" || a.AccessToken == "" {
		t.Fatalf("first token: %d %+v", status, a)
	}
	clk.Advance(100 * time.Second)
	_, b := identity(t, s, DefaultClientID, DefaultClientSecret)
	if b.AccessToken != a.AccessToken || b.ExpiresIn != 3500 {
		t.Fatalf("second call: got %+v, want the same token with 3500 s left", b)
	}
	clk.Advance(3500 * time.Second)
	_, c := identity(t, s, DefaultClientID, DefaultClientSecret)
	if c.AccessToken == a.AccessToken || c.ExpiresIn != 3600 {
		t.Fatalf("after expiry: got %+v, want a new token", c)
	}
	if got := s.Stats().IdentityCalls; got != 3 {
		t.Fatalf("IdentityCalls = %d, want 3", got)
	}
}

func TestIdentityRefusals(t *testing.T) {
	s := mustServer(t, Options{})
	tests := []struct {
		name       string
		query      url.Values
		wantStatus int
		wantError  string
	}{
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {"nope"}}, 401, "unauthorized"},
		{"wrong id", url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {DefaultClientSecret}}, 401, "unauthorized"},
		{"wrong grant", url.Values{"grant_type": {"password"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}, 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.Client().Get(s.URL + IdentityPath + "?" + tt.query.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var a tokenAnswer
			_ = jsonUnmarshalReader(resp, &a)
			if resp.StatusCode != tt.wantStatus || a.Error != tt.wantError || a.AccessToken != "" {
				t.Fatalf("got %d %+v, want %d %s", resp.StatusCode, a, tt.wantStatus, tt.wantError)
			}
		})
	}
	if st := s.Stats(); st.IdentityFails != 3 {
		t.Fatalf("IdentityFails = %d, want 3", st.IdentityFails)
	}
}

func TestIdentityPostForm(t *testing.T) {
	s := mustServer(t, Options{ClientID: "id1", ClientSecret: "s3cret"})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"id1"}, "client_secret": {"s3cret"}}
	resp, err := s.Client().Post(s.URL+IdentityPath, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a tokenAnswer
	if err := jsonUnmarshalReader(resp, &a); err != nil || resp.StatusCode != 200 || a.AccessToken == "" {
		t.Fatalf("POST identity: %d %+v %v", resp.StatusCode, a, err)
	}
}

func TestTokenChecks(t *testing.T) {
	clk := newClock(t0)
	s := mustServer(t, Options{Now: clk.Now, TokenTTL: time.Minute})
	tok := mustToken(t, s)
	body := mustJSON(t, map[string]any{"input": []any{rec("a@example.com")}})
	post := func(c call) string {
		c.path, c.body = SyncLeadsPath, body
		return mustDo(t, s, c).code()
	}
	if got := post(call{token: tok}); got != CodeOK {
		t.Fatalf("valid token: %s", got)
	}
	if got := post(call{}); got != "601" {
		t.Fatalf("no token: %s, want 601", got)
	}
	if got := post(call{token: "forged:sj"}); got != "601" {
		t.Fatalf("unknown token: %s, want 601", got)
	}
	if got := mustDo(t, s, call{path: SyncLeadsPath + "?access_token=" + tok, body: body}).code(); got != "601" {
		t.Fatalf("query token: %s, want 601", got)
	}
	clk.Advance(time.Minute)
	if got := post(call{token: tok}); got != "602" {
		t.Fatalf("expired token: %s, want 602", got)
	}
	tok2 := mustToken(t, s)
	s.RevokeTokens()
	if got := post(call{token: tok2}); got != "601" {
		t.Fatalf("revoked token: %s, want 601", got)
	}
	tok3 := mustToken(t, s)
	if tok3 == tok2 {
		t.Fatal("identity after revocation returned the revoked token")
	}
	if got := post(call{token: tok3}); got != CodeOK {
		t.Fatalf("new token after revocation: %s", got)
	}
	st := s.Stats()
	if st.QueryTokenUses != 1 || st.ByCode["601"] != 4 || st.ByCode["602"] != 1 || st.ByCode[CodeOK] != 2 {
		t.Fatalf("stats: %+v", st)
	}
	if st.Records != 2 {
		t.Fatalf("Records = %d, want 2 (refused calls process no record)", st.Records)
	}
	if s.QuotaUsed() != 2 {
		t.Fatalf("QuotaUsed = %d, want 2: 601 and 602 do not count", s.QuotaUsed())
	}
}

func TestAllowQueryToken(t *testing.T) {
	s := mustServer(t, Options{AllowQueryToken: true})
	tok := mustToken(t, s)
	body := mustJSON(t, map[string]any{"input": []any{rec("a@example.com")}})
	if got := mustDo(t, s, call{path: SyncLeadsPath + "?access_token=" + tok, body: body}).code(); got != CodeOK {
		t.Fatalf("query token allowed: %s", got)
	}
	if st := s.Stats(); st.QueryTokenUses != 1 {
		t.Fatalf("QueryTokenUses = %d, want 1 even when allowed", st.QueryTokenUses)
	}
}
