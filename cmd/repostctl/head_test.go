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

// BenchmarkDecodeHead reads the head of a parked entry the way scans do,
// against the full reading.
func BenchmarkDecodeHead(b *testing.B) {
	ev := fixture.Mix(1, 3, fixedNow)[0]
	data, err := repost.NewParkedLeadFor(ev.Data, ev.ID, repost.ParkInfo{Code: "1006", Reason: "r", Attempts: 3, ParkedAt: fixedNow})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("head", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeHead(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := repost.DecodeParkedLead(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Entries decodeHead's scan is not sure of read as DecodeParkedLead reads them.
func TestDecodeHeadOddEntries(t *testing.T) {
	block := `{"code":1006,"reason":"r","attempts":2,"parkedAt":"2026-11-23T15:04:05Z"}`
	for _, data := range []string{
		`{"eventId":"e1","subscription":"s","leadId":"L","parked":` + block + `}`,
		`{"eventId":"e0","eventId":"e1","subscription":"s","parked":` + block + `}`,
		`{"eventId":null,"subscription":"s","parked":` + block + `}`,
		`{"eventId":"e1","subscription":"s","leadId":7,"parked":` + block + `}`,
		`{"eventId":"e1","subscription":"_","parked":` + block + `}`,
		`{"EventID":"e1","subscription":"s","parked":` + block + `}`,
		`{"eventId":"e1","subscription":"s","raw":"x","parked":` + block + `}`,
		`{"eventId":"e1","subscription":"s","parked":null}`,
		`{"eventId":"e1","subscription":"s","parked":` + block + `} x`,
	} {
		want, werr := repost.DecodeParkedLead([]byte(data))
		got, gerr := decodeHead([]byte(data))
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%s: decodeHead error %v, DecodeParkedLead %v", data, gerr, werr)
			continue
		}
		if werr != nil {
			continue
		}
		if got.EventID != want.EventID || got.LeadID != want.LeadID || got.Subscription != want.Subscription ||
			got.Parked.Code != want.Parked.Code || got.Parked.Attempts != want.Parked.Attempts || !got.Parked.ParkedAt.Equal(want.Parked.ParkedAt) {
			t.Errorf("%s: decodeHead %+v, DecodeParkedLead %+v", data, got, want)
		}
	}
}
