package marketo_test

import (
	"context"
	"testing"
	"time"

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
