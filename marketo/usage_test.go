package marketo_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
)

// Usage reads the simulator's real count of the day, the usage call itself
// included (Marketo counts it), all of it the identity's API user's.
func TestUsageReadsTheDaysRealCount(t *testing.T) {
	s := mustSim(t, marketotest.Options{})
	c := mustSimClient(t, s, nil)
	ctx := context.Background()
	for range 4 {
		if _, err := c.SyncLeads(ctx, nil, leads(1, `{"email":"u%d@example.com"}`)); err != nil {
			t.Fatal(err)
		}
	}
	u, err := c.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u.Total != 5 || u.Total != s.QuotaUsed() {
		t.Errorf("usage total %d (simulator %d), want 5: four syncs and the usage call", u.Total, s.QuotaUsed())
	}
	if u.Date != time.Now().In(chicagoLoc(t)).Format(time.DateOnly) {
		t.Errorf("usage date %q", u.Date)
	}
	user := c.APIUser()
	if user != s.Options().Scope {
		t.Fatalf("api user %q, want the identity scope %q", user, s.Options().Scope)
	}
	if n, mine := u.Mine(user); n != 5 || !mine {
		t.Errorf("Mine(%q) = %d, %v; want 5 of the API user", user, n, mine)
	}
	if n, mine := u.Mine("someone@else"); n != 5 || mine {
		t.Errorf("Mine of an unlisted user = %d, %v; want the total", n, mine)
	}
}

func chicagoLoc(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A client whose token came from the shared store (another replica fetched
// it) learns its API user from identity when it reads the usage.
func TestUsageLearnsTheAPIUserWithASharedToken(t *testing.T) {
	s := mustSim(t, marketotest.Options{})
	tokens := marketo.NewMemoryTokenStore()
	first := mustSimClient(t, s, func(c *marketo.Config) { c.Tokens = tokens })
	ctx := context.Background()
	if _, err := first.SyncLeads(ctx, nil, leads(1, `{"email":"w%d@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	second := mustSimClient(t, s, func(c *marketo.Config) { c.Tokens = tokens })
	if _, err := second.SyncLeads(ctx, nil, leads(1, `{"email":"x%d@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	if u := second.APIUser(); u != "" {
		t.Fatalf("the second client knows the API user %q before any identity call of its own", u)
	}
	u, err := second.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, mine := u.Mine(second.APIUser()); !mine || n != 3 {
		t.Errorf("Mine(%q) = %d, %v; want the API user's 3 calls", second.APIUser(), n, mine)
	}
}
