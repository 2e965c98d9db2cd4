package main

import (
	"testing"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
)

// decodeHead reads what DecodeParkedLead reads, for every kind of the
// fixture's mix, invalid and unreadable bodies included.
func TestDecodeHeadAgreesWithDecodeParkedLead(t *testing.T) {
	for _, ev := range fixture.Mix(300, 9, fixedNow) {
		data, err := repost.NewParkedLeadFor(ev.Data, ev.ID, repost.ParkInfo{Code: "1006", Reason: "r " + ev.Kind,
			Field: "role", Attempts: 3, ParkedAt: fixedNow, LastResponse: []byte(`{"x":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		want, err := repost.DecodeParkedLead(data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeHead(data)
		if err != nil {
			t.Fatal(err)
		}
		w, g := want.Parked, got.Parked
		if got.EventID != want.EventID || got.LeadID != want.LeadID || got.Subscription != want.Subscription ||
			g.Code != w.Code || g.Reason != w.Reason || g.Field != w.Field || g.Attempts != w.Attempts || !g.ParkedAt.Equal(w.ParkedAt) {
			t.Errorf("%s (%s): decodeHead %+v, DecodeParkedLead %+v", ev.ID, ev.Kind, got, want)
		}
	}
}
