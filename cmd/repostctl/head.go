package main

import (
	"encoding/json"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
)

// parkedHead is what listings need of a parked entry: its IDs and parked
// block, without the strict decoding of the whole event.
type parkedHead struct {
	EventID      *string         `json:"eventId"`
	LeadID       *string         `json:"leadId"`
	Subscription *string         `json:"subscription"`
	Raw          json.RawMessage `json:"raw"`
	RawBase64    json.RawMessage `json:"rawBase64"`
	Parked       *struct {
		Code     policy.Code `json:"code"`
		Reason   string      `json:"reason"`
		Field    string      `json:"field"`
		Attempts int         `json:"attempts"`
		ParkedAt time.Time   `json:"parkedAt"`
	} `json:"parked"`
}

// decodeHead reads the IDs and parked block of an entry for scans (summary,
// list, selection), several times faster than repost.DecodeParkedLead on a
// large queue. Entries it is not sure of (wrapped bodies, missing or odd
// IDs) go through DecodeParkedLead, whose reading is the reference.
// The result has no Original or Event.
func decodeHead(data []byte) (*repost.ParkedLead, error) {
	var h parkedHead
	if err := json.Unmarshal(data, &h); err != nil || h.Parked == nil || h.Raw != nil || h.RawBase64 != nil ||
		h.EventID == nil || *h.EventID == "" || h.Subscription == nil || !queue.ValidToken(*h.Subscription) ||
		*h.Subscription == repost.UnknownSubscription {
		return repost.DecodeParkedLead(data)
	}
	p := &repost.ParkedLead{EventID: *h.EventID, Subscription: *h.Subscription, Parked: repost.ParkInfo{
		Code: h.Parked.Code, Reason: h.Parked.Reason, Field: h.Parked.Field, Attempts: h.Parked.Attempts, ParkedAt: h.Parked.ParkedAt,
	}}
	if h.LeadID != nil {
		p.LeadID = *h.LeadID
	}
	return p, nil
}
