package repost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/leadops/repost/internal/strictjson"
)

// ErrEntryTooLarge is returned by NewParkedLeadWithin when the event alone,
// without any of the last call, does not fit the limit: its body must be
// stored elsewhere (NewParkedRef).
var ErrEntryTooLarge = errors.New("parked lead: the event alone is over the payload limit")

// ErrBodyNotAttached is a ParkedLead's EventErr while the body its entry
// refers to (Parked.BodyRef) has not been attached with AttachBody.
var ErrBodyNotAttached = errors.New("parked lead: the body is stored apart (bodyRef) and not attached")

// The trimming steps of an entry over the limit, in order: each is named in
// the entry's "trimmed" list when it changed something.
var trimSteps = []struct {
	name  string
	apply func(*ParkInfo)
}{
	{"lastRequest: records that did not fail", func(i *ParkInfo) { i.LastRequest = onlyFailedRecords(i.LastRequest, i.LastResponse) }},
	{"lastResponse: all but the codes", func(i *ParkInfo) { i.LastResponse = codesOnly(i.LastResponse) }},
	{"lastRequest: values over " + strconv.Itoa(longValue) + " bytes", func(i *ParkInfo) { i.LastRequest = cutLongValues(i.LastRequest) }},
	{"lastRequest", func(i *ParkInfo) { i.LastRequest = nil }},
	{"lastResponse", func(i *ParkInfo) { i.LastResponse = nil }},
}

// NewParkedLeadWithin is NewParkedLeadOn for a server that takes messages
// of at most limit bytes. An entry over it is shrunk by trimming the last
// call, step by step (trimSteps): the records of the call that did not fail
// go first, then everything of the response but its codes, then the long
// values of the failing record, then the last call itself. The block's
// "trimmed" says which steps were taken. The original is never changed: when
// it alone is over the limit the error is ErrEntryTooLarge.
func NewParkedLeadWithin(raw []byte, fallbackID, subscription string, info ParkInfo, limit int) ([]byte, error) {
	return fitEntry(info, limit, func(i ParkInfo) ([]byte, error) {
		return newParkedLead(raw, fallbackID, subscription, i, math.MaxInt)
	})
}

// NewParkedRef is the entry of an event whose body is stored apart, under
// the object name ref: the event's eventId, leadId and subscription (as
// NewParkedLeadOn would file it) and the parked block, with bodyRef and
// bodyBytes set, trimmed to fit limit like NewParkedLeadWithin.
func NewParkedRef(raw []byte, fallbackID, subscription, ref string, info ParkInfo, limit int) ([]byte, error) {
	if ref == "" {
		return nil, errors.New("parked lead: empty body reference")
	}
	info.BodyRef, info.BodyBytes = ref, len(raw)
	id := parkedID(raw, fallbackID)
	if subscriptionProblem(subscription) != "" {
		subscription = peekString(raw, "subscription")
	}
	if subscriptionProblem(subscription) != "" {
		subscription = UnknownSubscription
	}
	leadID := peekString(raw, "leadId")
	return fitEntry(info, limit, func(i ParkInfo) ([]byte, error) {
		if err := checkInfo(i); err != nil {
			return nil, err
		}
		block, err := json.Marshal(i)
		if err != nil {
			return nil, fmt.Errorf("parked lead: %w", err)
		}
		w := strictjson.NewObjectWriter()
		w.Value("eventId", id)
		if leadID != "" {
			w.Value("leadId", leadID)
		}
		w.Value("subscription", subscription)
		w.Raw(keyParked, block)
		return w.Close()
	})
}

func fitEntry(info ParkInfo, limit int, build func(ParkInfo) ([]byte, error)) ([]byte, error) {
	entry, err := build(info)
	if err != nil || len(entry) <= limit {
		return entry, err
	}
	info.Trimmed = append([]string(nil), info.Trimmed...)
	for _, step := range trimSteps {
		req, resp := info.LastRequest, info.LastResponse
		step.apply(&info)
		if bytes.Equal(req, info.LastRequest) && bytes.Equal(resp, info.LastResponse) {
			continue
		}
		info.Trimmed = append(info.Trimmed, step.name)
		if entry, err = build(info); err != nil || len(entry) <= limit {
			return entry, err
		}
	}
	return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrEntryTooLarge, len(entry), limit)
}

func checkInfo(info ParkInfo) error {
	if info.Code == "" {
		return errors.New("parked lead: code is empty")
	}
	if info.ParkedAt.IsZero() {
		return errors.New("parked lead: parkedAt is not set")
	}
	return nil
}

// readRef reads an entry made by NewParkedRef; the body comes with AttachBody.
func (p *ParkedLead) readRef(members []strictjson.Member, byKey map[string]int) *ParkedLead {
	get := func(key string) string {
		if i, ok := byKey[key]; ok {
			return stringOf(members[i].Value)
		}
		return ""
	}
	p.EventID, p.LeadID, p.Subscription = get("eventId"), get("leadId"), get("subscription")
	if subscriptionProblem(p.Subscription) != "" {
		p.Subscription = UnknownSubscription
	}
	p.EventErr = ErrBodyNotAttached
	return p
}

// AttachBody gives an entry that refers to a stored body (Parked.BodyRef)
// that body, read back from where it was stored: Original and Event are then
// what they would be had the body sat inside the entry. A body whose size is
// not the one recorded is refused.
func (p *ParkedLead) AttachBody(body []byte) error {
	if p.Parked.BodyRef == "" {
		return errors.New("parked lead: the entry holds its body itself")
	}
	if len(body) != p.Parked.BodyBytes {
		return fmt.Errorf("parked lead: body %s is %d bytes, the entry recorded %d", p.Parked.BodyRef, len(body), p.Parked.BodyBytes)
	}
	p.Original = body
	p.Event, p.EventErr = DecodeEvent(body, "")
	if p.Event != nil {
		p.EventID, p.LeadID, p.Subscription = p.Event.EventID, p.Event.LeadID, p.Event.Subscription
	}
	return nil
}

// onlyFailedRecords replaces, in the last request, each record that the last
// response says was accepted by null, keeping the others in their places.
func onlyFailedRecords(req, resp json.RawMessage) json.RawMessage {
	var r map[string]json.RawMessage
	if json.Unmarshal(req, &r) != nil {
		return req
	}
	var input []json.RawMessage
	if json.Unmarshal(r["input"], &input) != nil {
		return req
	}
	results := resultsOf(resp)
	if len(results) != len(input) {
		return req
	}
	changed := false
	for i, res := range results {
		if (res.Status == "created" || res.Status == "updated") && string(input[i]) != "null" {
			input[i], changed = json.RawMessage("null"), true
		}
	}
	if !changed {
		return req
	}
	r["input"], _ = json.Marshal(input)
	out, _ := json.Marshal(r)
	return out
}

func resultsOf(resp json.RawMessage) []struct{ Status string } {
	var r struct {
		Result          []struct{ Status string } `json:"result"`
		MarketoResponse *struct {
			Result []struct{ Status string } `json:"result"`
		} `json:"marketoResponse"`
	}
	if json.Unmarshal(resp, &r) != nil {
		return nil
	}
	if r.Result == nil && r.MarketoResponse != nil {
		return r.MarketoResponse.Result
	}
	return r.Result
}

// codeKeys are the members of a Marketo (or DAP) answer that codesOnly keeps.
var codeKeys = map[string]bool{
	"requestId": true, "success": true, "result": true, "errors": true, "warnings": true, "reasons": true,
	"code": true, "message": true, "status": true, "id": true, "seq": true, "error": true,
	"reasonCode": true, "statusCode": true, "reason": true, "marketoResponse": true, "handleTimeout": true,
}

// codesOnly keeps of a response its codes, statuses and request ID, with
// messages cut short.
func codesOnly(resp json.RawMessage) json.RawMessage {
	v, ok := decodeAny(resp)
	if !ok {
		return resp
	}
	out, _ := json.Marshal(walkCodes(v))
	return out
}

func walkCodes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if codeKeys[k] {
				out[k] = walkCodes(e)
			}
		}
		return out
	case []any:
		for i := range x {
			x[i] = walkCodes(x[i])
		}
		return x
	case string:
		return cutString(x, 200)
	}
	return v
}

// longValue is the length over which cutLongValues cuts a string.
const longValue = 256

// cutLongValues cuts every string of the request longer than longValue
// bytes, keeping its start and saying how long it was.
func cutLongValues(req json.RawMessage) json.RawMessage {
	v, ok := decodeAny(req)
	if !ok {
		return req
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case string:
			if len(x) > longValue {
				return cutString(x, 64) + " [" + strconv.Itoa(len(x)) + " bytes]"
			}
		}
		return v
	}
	out, _ := json.Marshal(walk(v))
	return out
}

func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func decodeAny(raw json.RawMessage) (any, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}
