package marketotest

import (
	"net/http"
	"strings"
	"testing"
)

func TestDescribeAccessDeniedAndSecretRotation(t *testing.T) {
	s := mustServer(t, Options{})
	tok := mustToken(t, s)
	r := mustDo(t, s, call{method: http.MethodGet, path: DescribePath, token: tok})
	if r.code() != CodeOK || !strings.Contains(string(r.Body), `"email"`) {
		t.Fatalf("describe: %s %s", r.code(), r.Body)
	}
	if r := mustDo(t, s, call{method: http.MethodPost, path: DescribePath, token: tok}); r.code() != "605" {
		t.Errorf("POST describe: %s, want 605", r.code())
	}

	s.SetAccessDenied("Access denied")
	if r := mustDo(t, s, call{method: http.MethodGet, path: DescribePath, token: tok}); r.code() != "603" {
		t.Errorf("denied describe: %s, want 603", r.code())
	}
	body := []byte(`{"input":[{"email":"a@example.com"}]}`)
	if r := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body}); r.code() != "603" {
		t.Errorf("denied sync: %s, want 603", r.code())
	}
	if s.LeadCount() != 0 {
		t.Errorf("a denied call wrote %d leads", s.LeadCount())
	}
	s.SetAccessDenied("")
	if r := mustDo(t, s, call{path: SyncLeadsPath, token: tok, body: body}); r.code() != CodeOK {
		t.Errorf("after access restored: %s", r.code())
	}

	s.SetClientSecret("rotated")
	if status, _ := identity(t, s, DefaultClientID, DefaultClientSecret); status != http.StatusUnauthorized {
		t.Errorf("old secret: identity %d, want 401", status)
	}
	if status, _ := identity(t, s, DefaultClientID, "rotated"); status != http.StatusOK {
		t.Errorf("new secret: identity %d, want 200", status)
	}
}
