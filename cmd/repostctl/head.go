package main

import (
	"encoding/json"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/strictjson"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
)

// parkedBlock is what listings need of a parked entry's block.
type parkedBlock struct {
	Code     policy.Code `json:"code"`
	Reason   string      `json:"reason"`
	Field    string      `json:"field"`
	Attempts int         `json:"attempts"`
	ParkedAt time.Time   `json:"parkedAt"`
}

// decodeHead reads the IDs and parked block of an entry for scans (summary,
// list, selection), several times faster than repost.DecodeParkedLead on a
// large queue: the top-level members are scanned, and only the block is
// decoded. Entries it is not sure of (not plain JSON, wrapped bodies,
// missing or odd IDs) go through DecodeParkedLead, whose reading is the
// reference. The result has no Original or Event.
func decodeHead(data []byte) (*repost.ParkedLead, error) {
	if p, ok := readHead(data); ok {
		return p, nil
	}
	return repost.DecodeParkedLead(data)
}

// readHead is decodeHead's fast reading; ok is false when the entry needs
// DecodeParkedLead.
func readHead(data []byte) (*repost.ParkedLead, bool) {
	if !strictjson.Plain(data, 0) { // a repeated key or deep nesting: DecodeParkedLead refuses or names it
		return nil, false
	}
	var eventID, leadID, sub, block []byte
	for k, v := range strictjson.Each(data) {
		switch k {
		case "eventId":
			eventID = v
		case "leadId":
			leadID = v
		case "subscription":
			sub = v
		case "parked":
			block = v
		case "raw", "rawBase64":
			return nil, false
		}
	}
	str := func(raw []byte) (string, bool) {
		if strictjson.Kind(raw) != "string" {
			return "", false
		}
		return strictjson.Unquote(raw)
	}
	p := &repost.ParkedLead{}
	var ok bool
	if p.EventID, ok = str(eventID); !ok || p.EventID == "" {
		return nil, false
	}
	if p.Subscription, ok = str(sub); !ok || !queue.ValidToken(p.Subscription) || p.Subscription == repost.UnknownSubscription {
		return nil, false
	}
	if leadID != nil && strictjson.Kind(leadID) != "null" {
		if p.LeadID, ok = str(leadID); !ok {
			return nil, false
		}
	}
	var b parkedBlock
	if strictjson.Kind(block) != "object" || json.Unmarshal(block, &b) != nil {
		return nil, false
	}
	p.Parked = repost.ParkInfo{Code: b.Code, Reason: b.Reason, Field: b.Field, Attempts: b.Attempts, ParkedAt: b.ParkedAt}
	return p, true
}
