package repost

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/policy"
)

var parkedAt = time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC)

func info1006() ParkInfo {
	return ParkInfo{
		Code: "1006", Reason: "Field 'role' not found", Field: "role", Attempts: 1, ParkedAt: parkedAt,
		LastRequest:  json.RawMessage(`{"input":[{"email":"a@example.com","role":"CTO"}]}`),
		LastResponse: json.RawMessage(`{"requestId":"106dc#1760529c03b","success":true}`),
	}
}

func mustPark(tb testing.TB, raw []byte, fallback string, info ParkInfo) (entry []byte, p *ParkedLead) {
	tb.Helper()
	entry, err := NewParkedLeadFor(raw, fallback, info)
	if err != nil {
		tb.Fatalf("NewParkedLeadFor: %v", err)
	}
	p, err = DecodeParkedLead(entry)
	if err != nil {
		tb.Fatalf("DecodeParkedLead(%s): %v", truncate(string(entry), 300), err)
	}
	return entry, p
}

func TestParkedLeadSplicesTheOriginal(t *testing.T) {
	raw := mustRead(t, "contract-event.json")
	entry, p := mustPark(t, raw, "", info1006())
	if !bytes.Equal(p.Original, raw) {
		t.Errorf("Original is not the event byte for byte:\n%s", p.Original)
	}
	if p.Wrapped || p.EventErr != nil || p.Event == nil || p.EventID != "evt-7f3a" || p.LeadID != "L-1001" || p.Subscription != "123-ABC-456" {
		t.Errorf("parked lead = %+v", p)
	}
	if !reflect.DeepEqual(p.Parked, info1006()) {
		t.Errorf("Parked = %+v, want %+v", p.Parked, info1006())
	}
	// CONTRACT §5: the original event plus a parked block, every key kept.
	var orig, got map[string]json.RawMessage
	if err := json.Unmarshal(raw, &orig); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(entry, &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range orig {
		if !bytes.Equal(got[k], v) {
			t.Errorf("key %s changed: %s", k, got[k])
		}
	}
	var block map[string]any
	if err := json.Unmarshal(got["parked"], &block); err != nil || len(got) != len(orig)+1 {
		t.Fatalf("parked block: %v (%d keys)", err, len(got))
	}
	want := map[string]any{"code": 1006.0, "reason": "Field 'role' not found", "field": "role", "attempts": 1.0,
		"parkedAt":     "2026-11-23T10:00:01Z",
		"lastRequest":  map[string]any{"input": []any{map[string]any{"email": "a@example.com", "role": "CTO"}}},
		"lastResponse": map[string]any{"requestId": "106dc#1760529c03b", "success": true}}
	if !reflect.DeepEqual(block, want) {
		t.Errorf("parked block = %v\nwant %v", block, want)
	}
}

func TestParkedLeadOriginalExact(t *testing.T) {
	invalidInfo := ParkInfo{Code: policy.CodeInvalid, Reason: `invalid event: field "leadId": missing`, ParkedAt: parkedAt}
	tests := []struct {
		name        string
		raw         string
		fallback    string
		wantWrapped bool
		wantID      string
		wantSub     string
		wantEvent   bool
	}{
		{name: "compact event", raw: string(ev()), wantID: "evt-1", wantSub: "123-ABC-456", wantEvent: true},
		{name: "spaces before the brace and a trailing newline", raw: string(ev()[:len(ev())-1]) + " \n\t}\n", wantID: "evt-1", wantSub: "123-ABC-456", wantEvent: true},
		{name: "number last", raw: "{\"eventId\":\"e9\",\"n\":1.50 }", wantID: "e9", wantSub: "_"},
		{name: "invalid event keeps its subscription", raw: `{"eventId":"e2","subscription":"123-ABC-456"}`, wantID: "e2", wantSub: "123-ABC-456"},
		{name: "unusable subscription", raw: `{"eventId":"e2","subscription":"a.b"}`, wantID: "e2", wantSub: "_"},
		{name: "not JSON, eventId peeked", raw: `{"eventId": "e3", "leadId": "L-3", broken`, wantWrapped: true, wantID: "e3", wantSub: "_"},
		{name: "not JSON, fallback id", raw: `garbage`, fallback: "msg-id-7", wantWrapped: true, wantID: "msg-id-7", wantSub: "_"},
		{name: "peeked id wins over fallback", raw: `["eventId", {"eventId":"e4"}]`, fallback: "msg-id-8", wantWrapped: true, wantID: "e4", wantSub: "_"},
		{name: "nothing to name it", raw: ``, wantWrapped: true, wantID: "raw-e3b0c44298fc1c149afbf4c8996fb924", wantSub: "_"},
		{name: "object without eventId", raw: `{"leadId":"L-5"}`, fallback: "msg-id-9", wantWrapped: true, wantID: "msg-id-9", wantSub: "_"},
		{name: "fallback with a newline is not used", raw: `x`, fallback: "a\nb", wantWrapped: true, wantID: "raw-2d711642b726b04401627ca9fbac32f5", wantSub: "_"},
		{name: "duplicate keys", raw: `{"eventId":"e6","eventId":"e7"}`, wantWrapped: true, wantID: "e7", wantSub: "_"},
		{name: "already has a parked key", raw: string(ev("parked", `{"code":1}`)), wantWrapped: true, wantID: "evt-1", wantSub: "123-ABC-456", wantEvent: true},
		{name: "has a raw key", raw: `{"eventId":"e8","raw":"x"}`, wantWrapped: true, wantID: "e8", wantSub: "_"},
		{name: "not UTF-8", raw: "{\"eventId\":\"e\xff\"}", fallback: "m1", wantWrapped: true, wantID: "m1", wantSub: "_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry, p := mustPark(t, []byte(tt.raw), tt.fallback, invalidInfo)
			if !json.Valid(entry) {
				t.Fatalf("entry is not JSON: %s", entry)
			}
			if string(p.Original) != tt.raw {
				t.Errorf("Original = %q, want %q", p.Original, tt.raw)
			}
			if p.Wrapped != tt.wantWrapped || p.EventID != tt.wantID || p.Subscription != tt.wantSub || (p.Event != nil) != tt.wantEvent {
				t.Errorf("parked lead: wrapped %v id %q sub %q event %v (%v); want %v %q %q %v",
					p.Wrapped, p.EventID, p.Subscription, p.Event != nil, p.EventErr, tt.wantWrapped, tt.wantID, tt.wantSub, tt.wantEvent)
			}
			if !reflect.DeepEqual(p.Parked, invalidInfo) {
				t.Errorf("Parked = %+v", p.Parked)
			}
		})
	}
}

func TestParkedLeadWrapperShape(t *testing.T) {
	entry, err := NewParkedLead([]byte("not json"), ParkInfo{Code: policy.CodeInvalid, Reason: "r", ParkedAt: parkedAt})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"eventId":"raw-` // then the hash
	if !strings.HasPrefix(string(entry), want) || !strings.Contains(string(entry), `,"subscription":"_","raw":"not json","parked":{"code":"invalid","reason":"r","attempts":0,"parkedAt":"2026-11-23T10:00:01Z"}}`) {
		t.Errorf("wrapper = %s", entry)
	}
	entry, err = NewParkedLead([]byte("\xff\xfe"), ParkInfo{Code: policy.CodeInvalid, ParkedAt: parkedAt})
	if err != nil || !strings.Contains(string(entry), `"rawBase64":"//4="`) {
		t.Errorf("wrapper of a non-UTF-8 body = %s, %v", entry, err)
	}
}

func TestDecodeParkedLeadCutsAParkedBlockAnywhere(t *testing.T) {
	tests := []struct {
		name, entry, want string
	}{
		{"last", `{"eventId":"e","parked":{"code":1006,"parkedAt":"2026-11-23T10:00:01Z"}}`, `{"eventId":"e"}`},
		{"first", `{ "parked" : {"code":1006}, "eventId":"e" , "b":2}`, `{ "eventId":"e" , "b":2}`},
		{"middle", `{"eventId":"e","parked":{"code":1006},"b":2}`, `{"eventId":"e","b":2}`},
		{"alone", `{"parked":{"code":1006}}`, `{}`},
	}
	for _, tt := range tests {
		p, err := DecodeParkedLead([]byte(tt.entry))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(p.Original) != tt.want || p.Parked.Code != "1006" {
			t.Errorf("%s: Original = %s, code %q; want %s", tt.name, p.Original, p.Parked.Code, tt.want)
		}
	}
}

func TestParkedLeadErrors(t *testing.T) {
	good := info1006()
	newTests := []struct {
		name string
		info func(ParkInfo) ParkInfo
	}{
		{"no code", func(i ParkInfo) ParkInfo { i.Code = ""; return i }},
		{"no time", func(i ParkInfo) ParkInfo { i.ParkedAt = time.Time{}; return i }},
		{"bad lastRequest", func(i ParkInfo) ParkInfo { i.LastRequest = json.RawMessage(`{`); return i }},
		{"bad lastResponse", func(i ParkInfo) ParkInfo { i.LastResponse = json.RawMessage(`nope`); return i }},
	}
	for _, tt := range newTests {
		if _, err := NewParkedLead(ev(), tt.info(good)); err == nil {
			t.Errorf("NewParkedLead with %s: no error", tt.name)
		}
	}
	decodeTests := []struct{ name, entry string }{
		{"not JSON", `{"parked":`},
		{"no block", string(ev())},
		{"bad block", `{"eventId":"e","parked":{"code":"nope"}}`},
		{"block not an object", `{"eventId":"e","parked":[]}`},
		{"bad raw", `{"eventId":"e","raw":5,"parked":{"code":1}}`},
		{"bad base64", `{"eventId":"e","rawBase64":"%%","parked":{"code":1}}`},
	}
	for _, tt := range decodeTests {
		if p, err := DecodeParkedLead([]byte(tt.entry)); err == nil {
			t.Errorf("DecodeParkedLead(%s): %+v, want an error", tt.name, p)
		}
	}
}

func TestParkedLeadStaysUnderTheLimit(t *testing.T) {
	big := ev("sourceId", `"`+strings.Repeat("x", MaxEventBytes-300)+`"`)
	if _, err := DecodeEvent(big, ""); err != nil {
		t.Fatalf("the big event is itself invalid: %v", err)
	}
	info := info1006()
	info.LastRequest = json.RawMessage(`{"input":[{"pad":"` + strings.Repeat("y", 50<<10) + `"}]}`)
	info.LastResponse = json.RawMessage(`{"pad":"` + strings.Repeat("z", 50<<10) + `"}`)
	entry, p := mustPark(t, big, "", info)
	if len(entry) > MaxParkedBytes {
		t.Errorf("entry is %d bytes, over %d", len(entry), MaxParkedBytes)
	}
	if p.Parked.LastRequest != nil || p.Parked.LastResponse == nil {
		t.Errorf("want lastRequest dropped first and lastResponse kept (%d bytes)", len(entry))
	}
	if !bytes.Equal(p.Original, big) {
		t.Error("the original was changed to fit")
	}
	// A body over every limit is still parked whole, without the last call.
	huge := ev("sourceId", `"`+strings.Repeat("x", MaxParkedBytes)+`"`)
	_, p = mustPark(t, huge, "", info)
	if !bytes.Equal(p.Original, huge) || p.Parked.LastRequest != nil || p.Parked.LastResponse != nil || p.Parked.Code != "1006" {
		t.Errorf("oversized body: original kept %v, block %+v", bytes.Equal(p.Original, huge), p.Parked)
	}
	small := info1006()
	_, p = mustPark(t, ev(), "", small)
	if p.Parked.LastRequest == nil || p.Parked.LastResponse == nil {
		t.Error("a small entry lost its last call")
	}
}

func TestPeekEventID(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"valid event", string(ev()), "evt-1"},
		{"object, other keys invalid", `{"eventId":"e1","leadId":7}`, "e1"},
		{"broken JSON", `{"leadId":"L","eventId" : "e\"2", `, `e"2`},
		{"escaped", `xx "eventId":"e\u00e93" yy`, "eé3"},
		{"eventId a number", `{"eventId":12}`, ""},
		{"nested only", `{"a":{"eventId":"x"}}`, ""},
		{"control characters", `{"eventId":"a\tb"}`, ""},
		{"not UTF-8", "{\"eventId\":\"e\xff\"}", ""},
		{"not UTF-8, broken JSON", "\"eventId\":\"e\xff\"", ""},
		{"too long", `{"eventId":"` + strings.Repeat("a", MaxIDBytes+1) + `"}`, ""},
		{"empty", ``, ""},
	}
	for _, tt := range tests {
		if got := PeekEventID([]byte(tt.data)); got != tt.want {
			t.Errorf("%s: PeekEventID = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNewParkedLeadOnFilesAWrappedBodyUnderItsSubject(t *testing.T) {
	info := ParkInfo{Code: policy.CodeInvalid, Reason: "not JSON", ParkedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	for _, tc := range []struct{ sub, want string }{
		{"123-ABC-456", "123-ABC-456"},
		{"", UnknownSubscription},
		{"a.b", UnknownSubscription},
		{UnknownSubscription, UnknownSubscription},
	} {
		b, err := NewParkedLeadOn([]byte("LeadId,RequestContent\nL-1,{oops"), "evt-9", tc.sub, info)
		if err != nil {
			t.Fatal(err)
		}
		p, err := DecodeParkedLead(b)
		if err != nil {
			t.Fatal(err)
		}
		if p.Subscription != tc.want || p.EventID != "evt-9" || !p.Wrapped {
			t.Errorf("on %q: subscription %q eventId %q wrapped %v; want %q evt-9 true", tc.sub, p.Subscription, p.EventID, p.Wrapped, tc.want)
		}
	}
	// A body that is an object keeps its own subscription, whatever the subject says.
	b, err := NewParkedLeadOn([]byte(`{"eventId":"e","subscription":"999-ZZZ-999"}`), "x", "123-ABC-456", info)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := DecodeParkedLead(b); p.Subscription != "999-ZZZ-999" {
		t.Errorf("spliced entry subscription %q", p.Subscription)
	}
}
