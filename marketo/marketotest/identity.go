package marketotest

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/leadops/repost/internal/randid"
)

type token struct {
	value   string
	expires time.Time
	revoked bool
}

// identityAnswer is Marketo's identity response.
type identityAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

func (s *Sim) serveIdentity(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.identityFail(w, http.StatusMethodNotAllowed, "invalid_request", "Unsupported method")
		return
	}
	_ = r.ParseForm() // a malformed form leaves the query values, enough to refuse
	if gt := r.Form.Get("grant_type"); gt != "client_credentials" {
		s.identityFail(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+gt)
		return
	}
	if !equal(r.Form.Get("client_id"), s.opts.ClientID) || !equal(r.Form.Get("client_secret"), s.clientSecret()) {
		s.identityFail(w, http.StatusUnauthorized, "unauthorized", "Bad client credentials")
		return
	}
	s.mu.Lock()
	s.counters.identityCalls++
	now := s.opts.Now()
	t := s.current
	if t == nil || t.revoked || !now.Before(t.expires) {
		t = &token{value: newTokenValue(), expires: now.Add(s.opts.TokenTTL)}
		s.tokens[t.value] = t
		s.current = t
	}
	ans := identityAnswer{
		AccessToken: t.value, TokenType: "bearer",
		ExpiresIn: int(t.expires.Sub(now) / time.Second), Scope: s.opts.Scope,
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, ans)
}

func (s *Sim) identityFail(w http.ResponseWriter, status int, code, desc string) {
	s.mu.Lock()
	s.counters.identityCalls++
	s.counters.identityFails++
	s.mu.Unlock()
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// newTokenValue returns a token shaped like Marketo's ("uuid:pod").
func newTokenValue() string {
	h := randid.Hex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32] + ":sj"
}

// RevokeTokens invalidates every token issued so far: calls carrying one get
// 601, and the next identity call issues a new token.
func (s *Sim) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// authenticate checks the call's token with s.mu held. It returns the
// response-level code and message of a refusal, or "" when the token is good.
func (s *Sim) authenticateLocked(r *http.Request, c *callState) (code, msg string) {
	value := ""
	if q := r.URL.Query().Get("access_token"); q != "" {
		c.queryToken = true
		if !s.opts.AllowQueryToken {
			return "601", "Access token invalid"
		}
		value = q
	}
	if h := r.Header.Get("Authorization"); value == "" && h != "" {
		scheme, v, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "bearer") {
			value = strings.TrimSpace(v)
		}
	}
	if value == "" {
		return "601", "Access token invalid"
	}
	t, ok := s.tokens[value]
	switch {
	case !ok || t.revoked:
		return "601", "Access token invalid"
	case !s.opts.Now().Before(t.expires):
		return "602", "Access token expired"
	}
	return "", ""
}
