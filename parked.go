package repost

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/leadops/repost/internal/strictjson"
	"github.com/leadops/repost/policy"
)

// MaxParkedBytes is what a parked lead of an event within MaxEventBytes stays
// under: LastRequest, then LastResponse, are left out when keeping them would
// pass it. The parked stream's message size must allow it.
const MaxParkedBytes = MaxEventBytes + 64<<10

// ParkInfo is the block a parked lead carries (CONTRACT §5).
type ParkInfo struct {
	Code   policy.Code `json:"code"`
	Reason string      `json:"reason"`
	// Field is the Marketo field the message names, when there is one.
	Field    string    `json:"field,omitempty"`
	Attempts int       `json:"attempts"`
	ParkedAt time.Time `json:"parkedAt"`
	// LastRequest and LastResponse are the last call's bodies, for the human
	// who fixes the lead. They must hold no secret.
	LastRequest  json.RawMessage `json:"lastRequest,omitempty"`
	LastResponse json.RawMessage `json:"lastResponse,omitempty"`
	// Trimmed says what was cut from the last call (or moved out of the
	// entry) to keep the entry within the server's payload limit.
	Trimmed []string `json:"trimmed,omitempty"`
	// BodyRef names the object in REPOST_BODIES that holds the event's body
	// when the body was too large to sit inside the entry; BodyBytes is its
	// size.
	BodyRef   string `json:"bodyRef,omitempty"`
	BodyBytes int    `json:"bodyBytes,omitempty"`
}

// ParkedLead is a parked entry read back.
type ParkedLead struct {
	EventID      string
	LeadID       string // "" when the original does not say
	Subscription string // UnknownSubscription when the original does not say
	// Original is the event exactly as it was parked: what a requeue
	// publishes again.
	Original []byte
	// Wrapped is set when the original was not a JSON object it could be
	// spliced into, and was kept as "raw" (or "rawBase64" if not UTF-8).
	Wrapped bool
	// Event is Original decoded, or nil with EventErr saying why.
	Event    *Event
	EventErr error
	Parked   ParkInfo
}

// The keys a parked lead adds to an original event.
const (
	keyParked    = "parked"
	keyRaw       = "raw"
	keyRawBase64 = "rawBase64"
)

// NewParkedLead is NewParkedLeadFor without a fallback eventId.
func NewParkedLead(raw []byte, info ParkInfo) ([]byte, error) {
	return NewParkedLeadFor(raw, "", info)
}

// NewParkedLeadFor returns the parked entry for the event body raw: raw
// itself, byte for byte, with a "parked" block spliced in as its last key.
// A body that is not a JSON object, has duplicate keys, names no usable
// eventId or already has a "parked", "raw" or "rawBase64" key is kept whole
// instead, as
// {"eventId", "subscription": "_", "raw", "parked"}; its eventId is the one
// the body names, else fallbackID (the message's Nats-Msg-Id), else one
// derived from the body's hash so that redeliveries agree.
func NewParkedLeadFor(raw []byte, fallbackID string, info ParkInfo) ([]byte, error) {
	return NewParkedLeadOn(raw, fallbackID, "", info)
}

// NewParkedLeadOn is NewParkedLeadFor for a body that arrived on the
// subject of a known subscription: a wrapped body is filed under it rather
// than under "_", which is kept for bodies whose subscription is unknown.
func NewParkedLeadOn(raw []byte, fallbackID, subscription string, info ParkInfo) ([]byte, error) {
	return newParkedLead(raw, fallbackID, subscription, info, MaxParkedBytes-256)
}

// newParkedLead builds the entry, leaving out the last call's bodies when
// the entry would pass dropOver bytes.
func newParkedLead(raw []byte, fallbackID, subscription string, info ParkInfo, dropOver int) ([]byte, error) {
	at, ok := splicePoint(raw)
	return buildParked(raw, at, ok, fallbackID, subscription, info, dropOver)
}

// buildParked is newParkedLead once it is known where the block goes in raw
// (at, when ok), or that raw must be wrapped.
func buildParked(raw []byte, at int, ok bool, fallbackID, subscription string, info ParkInfo, dropOver int) ([]byte, error) {
	if info.Code == "" {
		return nil, errors.New("parked lead: code is empty")
	}
	if info.ParkedAt.IsZero() {
		return nil, errors.New("parked lead: parkedAt is not set")
	}
	for name, r := range map[string]json.RawMessage{"lastRequest": info.LastRequest, "lastResponse": info.LastResponse} {
		if len(r) > 0 && !json.Valid(r) {
			return nil, fmt.Errorf("parked lead: %s is not valid JSON", name)
		}
	}
	block, err := parkBlock(info, len(raw), dropOver)
	if err != nil {
		return nil, err
	}
	if ok {
		out := make([]byte, 0, len(raw)+len(block)+16)
		out = append(out, raw[:at]...)
		out = append(out, `,"parked":`...)
		out = append(out, block...)
		return append(out, raw[at:]...), nil
	}
	return wrapParked(raw, fallbackID, subscription, block)
}

// parkBlock encodes info, leaving out the last call's bodies when they would
// take the entry past dropOver bytes.
func parkBlock(info ParkInfo, rawLen, dropOver int) ([]byte, error) {
	for {
		block, err := json.Marshal(info)
		if err != nil {
			return nil, fmt.Errorf("parked lead: %w", err)
		}
		switch {
		case rawLen+len(block) <= dropOver:
			return block, nil
		case info.LastRequest != nil:
			info.LastRequest = nil
		case info.LastResponse != nil:
			info.LastResponse = nil
		default:
			return block, nil
		}
	}
}

// NewParkedEventWithin is NewParkedLeadWithin for an event DecodeEvent
// accepted, with the body it was decoded from: DecodeEvent already checked
// that body and found where the block goes, so parking does not read it a
// second time (BenchmarkParkDecodedEvent). An event not made by DecodeEvent
// is parked as its encoding.
func NewParkedEventWithin(e *Event, subscription string, info ParkInfo, limit int) ([]byte, error) {
	if e.src.body == nil {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("parked lead: %w", err)
		}
		return NewParkedLeadWithin(raw, e.EventID, subscription, info, limit)
	}
	return fitEntry(info, limit, func(i ParkInfo) ([]byte, error) {
		return buildParked(e.src.body, e.src.parkAt, e.src.parkAt > 0, e.EventID, subscription, i, math.MaxInt)
	})
}

// parkAt is where a "parked" member goes in a decoded event's body (see
// splicePoint), or 0 when the body must be wrapped.
func parkAt(members []strictjson.Member) int {
	for _, m := range members {
		switch m.Key {
		case keyParked, keyRaw, keyRawBase64:
			return 0
		}
	}
	return int(members[len(members)-1].End)
}

// splicePoint finds where a "parked" member goes in raw: right after its last
// value, so that cutting the member out gives raw back exactly.
func splicePoint(raw []byte) (at int, ok bool) {
	if !utf8.Valid(raw) {
		return 0, false
	}
	members, err := strictjson.Members(raw, "")
	if err != nil {
		return 0, false
	}
	named := false
	for _, m := range members {
		switch m.Key {
		case keyParked, keyRaw, keyRawBase64:
			return 0, false
		case "eventId":
			named = idProblem(stringOf(m.Value)) == ""
		}
	}
	if !named {
		return 0, false // wrapped, so that the entry still has a usable eventId
	}
	return int(members[len(members)-1].End), true
}

func wrapParked(raw []byte, fallbackID, subscription string, block []byte) ([]byte, error) {
	w := strictjson.NewObjectWriter()
	w.Value("eventId", parkedID(raw, fallbackID))
	if subscriptionProblem(subscription) != "" {
		subscription = UnknownSubscription
	}
	w.Value("subscription", subscription)
	if utf8.Valid(raw) {
		w.Value(keyRaw, string(raw))
	} else {
		w.Value(keyRawBase64, base64.StdEncoding.EncodeToString(raw))
	}
	w.Raw(keyParked, block)
	return w.Close()
}

// parkedID is the eventId of an entry: the body's, else fallbackID, else
// one derived from the body's hash so that redeliveries agree.
func parkedID(raw []byte, fallbackID string) string {
	id := PeekEventID(raw)
	if id == "" && idProblem(fallbackID) == "" {
		id = fallbackID
	}
	if id == "" {
		sum := sha256.Sum256(raw)
		id = "raw-" + hex.EncodeToString(sum[:16])
	}
	return id
}

// DecodeParkedLead reads a parked entry made by NewParkedLeadFor.
func DecodeParkedLead(data []byte) (*ParkedLead, error) {
	members, err := strictjson.Members(data, "")
	if err != nil {
		return nil, fmt.Errorf("parked lead: %w", err)
	}
	byKey := make(map[string]int, len(members))
	for i, m := range members {
		byKey[m.Key] = i
	}
	pi, ok := byKey[keyParked]
	if !ok {
		return nil, errors.New("parked lead: no parked block")
	}
	p := &ParkedLead{}
	if err := json.Unmarshal(members[pi].Value, &p.Parked); err != nil {
		return nil, fmt.Errorf("parked lead: parked: %w", err)
	}
	if p.Parked.BodyRef != "" {
		return p.readRef(members, byKey), nil
	}
	if err := p.readOriginal(data, members, byKey, pi); err != nil {
		return nil, err
	}
	p.Event, p.EventErr = DecodeEvent(p.Original, "")
	if p.Event != nil {
		p.EventID, p.LeadID, p.Subscription = p.Event.EventID, p.Event.LeadID, p.Event.Subscription
		return p, nil
	}
	if !p.Wrapped {
		p.EventID = PeekEventID(p.Original)
		p.Subscription = peekString(p.Original, "subscription")
	}
	p.LeadID = peekString(p.Original, "leadId")
	if subscriptionProblem(p.Subscription) != "" {
		p.Subscription = UnknownSubscription
	}
	return p, nil
}

func (p *ParkedLead) readOriginal(data []byte, members []strictjson.Member, byKey map[string]int, pi int) error {
	if i, ok := byKey[keyRaw]; ok {
		p.Wrapped = true
		var s string
		if err := json.Unmarshal(members[i].Value, &s); err != nil {
			return fmt.Errorf("parked lead: raw: %w", err)
		}
		p.Original = []byte(s)
	} else if i, ok := byKey[keyRawBase64]; ok {
		p.Wrapped = true
		var s string
		if err := json.Unmarshal(members[i].Value, &s); err != nil {
			return fmt.Errorf("parked lead: rawBase64: %w", err)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("parked lead: rawBase64: %w", err)
		}
		p.Original = b
	}
	if p.Wrapped {
		if i, ok := byKey["eventId"]; ok {
			p.EventID = stringOf(members[i].Value)
		}
		p.Subscription = UnknownSubscription
		if i, ok := byKey["subscription"]; ok {
			p.Subscription = stringOf(members[i].Value) // checked by the caller
		}
		return nil
	}
	start, end := int(members[pi].Start), int(members[pi].End)
	if pi == 0 && len(members) > 1 {
		// Take the comma after it along, and the blanks up to the next key.
		end += bytes.IndexByte(data[end:], ',') + 1
		for end < len(data) && isBlank(data[end]) {
			end++
		}
	}
	p.Original = append(append([]byte(nil), data[:start]...), data[end:]...)
	return nil
}

// PeekEventID returns the eventId a body names, best-effort, for parking a
// body that does not decode: the top-level "eventId" of a JSON object, else
// the first "eventId": "…" found in the text. It returns "" when there is
// none or it is not usable as an ID (empty, too long, control characters).
func PeekEventID(data []byte) string { return peekString(data, "eventId") }

func peekString(data []byte, key string) string {
	raw := strictjson.Peek(data, key)
	// encoding/json would turn bytes that are not UTF-8 into U+FFFD: an ID
	// nobody sent.
	s := stringOf(raw)
	if !utf8.Valid(raw) || idProblem(s) != "" {
		return ""
	}
	return s
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
