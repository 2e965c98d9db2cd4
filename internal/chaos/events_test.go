package chaos

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/leadops/repost/internal/fixture"
)

// Every pairEvery events end with an out-of-order pair of one lead: the
// newer data first, the older right after, same leadId and email, other
// lastName; the paused subscription's events are on its own subject and
// leads.
func TestMakeEventsPairs(t *testing.T) {
	evs, meta := makeEvents(200, 0.3, 50, 1, t0)
	type body struct {
		EventID, LeadID, Subscription string
		AttemptedAt                   time.Time
		RequestContent                struct {
			Input []struct{ Email, LastName string }
		}
	}
	parse := func(e fixture.Event) body {
		var b body
		if err := json.Unmarshal(e.Data, &b); err != nil {
			t.Fatalf("%s: %v", e.ID, err)
		}
		return b
	}
	pairs := 0
	for i, e := range evs {
		if e.Kind != KindPairNewer {
			continue
		}
		pairs++
		older := evs[i+1]
		n, o := parse(e), parse(older)
		if older.Kind != KindPairOlder || n.EventID != e.ID || o.EventID != older.ID || n.EventID == o.EventID {
			t.Fatalf("pair %d: kinds %s %s, ids %s %s", i, e.Kind, older.Kind, n.EventID, o.EventID)
		}
		if n.LeadID != o.LeadID || n.RequestContent.Input[0].Email != o.RequestContent.Input[0].Email {
			t.Errorf("pair %d: leads %s/%s, emails %s/%s", i, n.LeadID, o.LeadID, n.RequestContent.Input[0].Email, o.RequestContent.Input[0].Email)
		}
		if !n.AttemptedAt.After(o.AttemptedAt) || n.RequestContent.Input[0].LastName == o.RequestContent.Input[0].LastName {
			t.Errorf("pair %d: newer at %s %q, older at %s %q", i, n.AttemptedAt, n.RequestContent.Input[0].LastName,
				o.AttemptedAt, o.RequestContent.Input[0].LastName)
		}
		if m := meta[older.ID]; m.Email != meta[e.ID].Email || m.LastName != o.RequestContent.Input[0].LastName || !m.DataAt.Equal(o.AttemptedAt) {
			t.Errorf("pair %d: meta %+v / %+v", i, meta[e.ID], m)
		}
	}
	if pairs != 4 || len(meta) != 200 {
		t.Errorf("%d pairs in 200 events (want 4), %d described", pairs, len(meta))
	}
	pevs, pmeta := pausedEvents(3, t0)
	for _, e := range pevs {
		b := parse(e)
		if e.Sub != PausedSub || b.Subscription != PausedSub || b.EventID != e.ID || pmeta[e.ID].Kind != KindPaused {
			t.Errorf("paused event %+v: %+v", e.ID, b)
		}
		if _, clash := meta[e.ID]; clash {
			t.Errorf("paused event id %s also in the main mix", e.ID)
		}
	}
}
