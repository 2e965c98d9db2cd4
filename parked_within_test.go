package repost

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

const stockLimit = 1<<20 - 4<<10 // a stock server's max payload less header room

// TestParkedLeadWithinTrimsTheLastCall parks a 540 KB lead answered with
// 1006: its own body and the last call's copy of it do not fit together, so
// the last call is trimmed, keeping the failing record and the codes.
func TestParkedLeadWithinTrimsTheLastCall(t *testing.T) {
	big := strings.Repeat("b", 540<<10)
	raw := ev("requestContent", `{"action":"createOrUpdate","lookupField":"email","input":[{"email":"a@example.com","role":"CTO","bio":"`+big+`"}]}`)
	info := info1006()
	info.LastRequest = json.RawMessage(`{"endpoint":"/rest/v1/leads.json","input":[{"email":"a@example.com","role":"CTO","bio":"` + big + `"}]}`)
	info.LastResponse = json.RawMessage(`{"requestId":"r1","result":[{"status":"skipped","reasons":[{"code":"1006","message":"Field 'role' not found"}],"echo":"` + big[:100<<10] + `"}]}`)
	if untrimmed, err := newParkedLead(raw, "", "", info, math.MaxInt); err != nil || len(untrimmed) <= stockLimit {
		t.Fatalf("the untrimmed entry is %d bytes (%v): the test needs one over %d", len(untrimmed), err, stockLimit)
	}
	entry, err := NewParkedLeadWithin(raw, "", "", info, stockLimit)
	if err != nil {
		t.Fatalf("NewParkedLeadWithin: %v", err)
	}
	if len(entry) > stockLimit {
		t.Fatalf("entry is %d bytes, over %d", len(entry), stockLimit)
	}
	p, err := DecodeParkedLead(entry)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Original, raw) || p.Event == nil {
		t.Fatalf("the original was changed (event %v, err %v)", p.Event != nil, p.EventErr)
	}
	if len(p.Parked.Trimmed) == 0 {
		t.Error("nothing says what was trimmed")
	}
	var req struct {
		Input []map[string]string `json:"input"`
	}
	if err := json.Unmarshal(p.Parked.LastRequest, &req); err != nil || len(req.Input) != 1 {
		t.Fatalf("lastRequest %s: want the failing record kept (%v)", truncate(string(p.Parked.LastRequest), 200), err)
	}
	if rec := req.Input[0]; rec["email"] != "a@example.com" || rec["role"] != "CTO" || len(rec["bio"]) >= len(big) || rec["bio"] == "" {
		t.Errorf("failing record %v: want its short values whole and the long one cut", truncate(string(p.Parked.LastRequest), 200))
	}
	if !strings.Contains(string(p.Parked.LastResponse), `"code":"1006"`) || !strings.Contains(string(p.Parked.LastResponse), `"requestId":"r1"`) ||
		strings.Contains(string(p.Parked.LastResponse), "echo") {
		t.Errorf("lastResponse %s: want the codes and request ID only", truncate(string(p.Parked.LastResponse), 300))
	}
	if p.Parked.Code != "1006" || p.Parked.Field != "role" || p.Parked.Reason != info.Reason {
		t.Errorf("parked block changed: %+v", p.Parked)
	}
}

func TestParkedLeadWithinDropsRecordsThatDidNotFail(t *testing.T) {
	pad := strings.Repeat("p", 300<<10)
	raw := ev()
	info := info1006()
	info.LastRequest = json.RawMessage(`{"input":[{"email":"ok1@example.com","pad":"` + pad + `"},{"email":"bad@example.com","role":"CTO"},{"email":"ok2@example.com","pad":"` + pad + `"}]}`)
	info.LastResponse = json.RawMessage(`{"result":[{"id":1,"status":"updated"},{"status":"skipped","reasons":[{"code":"1006","message":"Field 'role' not found"}]},{"id":2,"status":"created"}]}`)
	entry, err := NewParkedLeadWithin(raw, "", "", info, 256<<10)
	if err != nil || len(entry) > 256<<10 {
		t.Fatalf("NewParkedLeadWithin: %d bytes, %v", len(entry), err)
	}
	p, _ := DecodeParkedLead(entry)
	var req struct{ Input []json.RawMessage }
	_ = json.Unmarshal(p.Parked.LastRequest, &req)
	if len(req.Input) != 3 || string(req.Input[0]) != "null" || string(req.Input[2]) != "null" ||
		string(req.Input[1]) != `{"email":"bad@example.com","role":"CTO"}` {
		t.Errorf("lastRequest %s: want only the failing record kept whole, in its place", truncate(string(p.Parked.LastRequest), 300))
	}
	if !bytes.Equal(p.Parked.LastResponse, info.LastResponse) {
		t.Errorf("lastResponse trimmed though dropping the good records was enough: %s", p.Parked.LastResponse)
	}
	if len(p.Parked.Trimmed) != 1 {
		t.Errorf("trimmed %q, want one step", p.Parked.Trimmed)
	}
}

func TestParkedLeadWithinLeavesASmallEntryAlone(t *testing.T) {
	raw := mustRead(t, "contract-event.json")
	want, _ := NewParkedLeadOn(raw, "", "", info1006())
	got, err := NewParkedLeadWithin(raw, "", "", info1006(), stockLimit)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("NewParkedLeadWithin = %s, %v; want %s", got, err, want)
	}
}

func TestParkedLeadWithinRefusesAnEventTooLargeAlone(t *testing.T) {
	raw := []byte(`{"eventId":"evt-big","pad":"` + strings.Repeat("x", stockLimit) + `"}`)
	_, err := NewParkedLeadWithin(raw, "", "", ParkInfo{Code: "invalid", Reason: "bad", ParkedAt: parkedAt}, stockLimit)
	if !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("err = %v, want ErrEntryTooLarge", err)
	}
}

// TestParkedRefForABodyTooLarge parks, by reference, an invalid event a few
// hundred bytes under 1 MiB: the entry names the stored body and reads back
// once the body is attached.
func TestParkedRefForABodyTooLarge(t *testing.T) {
	raw := []byte(`{"eventId":"evt-near","leadId":"L-9","subscription":"123-ABC-456","pad":"` + strings.Repeat("x", 1<<20-400) + `"}`)
	info := ParkInfo{Code: "invalid", Reason: "endpoint is missing", ParkedAt: parkedAt,
		LastResponse: json.RawMessage(`{"errors":[{"code":"1006","message":"m"}]}`)}
	if _, err := NewParkedLeadWithin(raw, "", "123-ABC-456", info, stockLimit); !errors.Is(err, ErrEntryTooLarge) {
		t.Fatalf("NewParkedLeadWithin: %v, want ErrEntryTooLarge", err)
	}
	entry, err := NewParkedRef(raw, "", "123-ABC-456", "123-ABC-456/evt-near", info, stockLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(entry) > 4<<10 {
		t.Errorf("reference entry is %d bytes", len(entry))
	}
	p, err := DecodeParkedLead(entry)
	if err != nil {
		t.Fatal(err)
	}
	if p.EventID != "evt-near" || p.LeadID != "L-9" || p.Subscription != "123-ABC-456" ||
		p.Parked.BodyRef != "123-ABC-456/evt-near" || p.Parked.BodyBytes != len(raw) || p.Original != nil || p.Parked.LastResponse == nil {
		t.Fatalf("decoded %+v (original %d bytes)", p.Parked, len(p.Original))
	}
	if !errors.Is(p.EventErr, ErrBodyNotAttached) {
		t.Errorf("EventErr = %v, want ErrBodyNotAttached", p.EventErr)
	}
	if err := p.AttachBody(raw[:len(raw)-1]); err == nil {
		t.Error("a body of the wrong size was attached")
	}
	if err := p.AttachBody(raw); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Original, raw) || p.EventID != "evt-near" || p.EventErr == nil || errors.Is(p.EventErr, ErrBodyNotAttached) {
		t.Errorf("after AttachBody: original %d bytes, id %q, err %v", len(p.Original), p.EventID, p.EventErr)
	}
}

// NewParkedEventWithin gives, for every event DecodeEvent accepts, the entry
// NewParkedLeadWithin gives for its body, byte for byte, trimmed or not; an
// event with a key a parked entry adds is wrapped the same way, and an event
// not made by DecodeEvent is parked as its encoding.
func TestParkedEventWithinMatchesTheBody(t *testing.T) {
	info := info1006()
	info.LastRequest = json.RawMessage(`{"input":[{"email":"a@example.com","bio":"` + strings.Repeat("b", 4000) + `"}]}`)
	info.LastResponse = json.RawMessage(`{"requestId":"r1","result":[{"status":"skipped","reasons":[{"code":"1006","message":"m"}]}]}`)
	bodies := [][]byte{ev("parked", `{"code":1}`), ev("raw", `"x"`), ev("rawBase64", `"eA=="`), []byte(" \n" + string(ev()) + "\n ")}
	for _, c := range decodeCases() {
		bodies = append(bodies, c.data)
	}
	decoded := 0
	for _, raw := range bodies {
		e, err := DecodeEvent(raw, "")
		if err != nil {
			continue
		}
		decoded++
		for _, limit := range []int{MaxParkedBytes, len(raw) + 2000, len(raw) + 600, len(raw)} {
			want, werr := NewParkedLeadWithin(raw, "fallback", "sub-x", info, limit)
			got, gerr := NewParkedEventWithin(e, "sub-x", info, limit)
			if !bytes.Equal(got, want) || (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
				t.Fatalf("%.80s… limit %d: by event %q (%v), by body %q (%v)", raw, limit, truncate(string(got), 200), gerr, truncate(string(want), 200), werr)
			}
		}
	}
	if decoded < 10 {
		t.Fatalf("only %d bodies decoded: the test covers nothing", decoded)
	}
	e := mustDecode(t, ev())
	built := *e
	built.src = source{}
	raw, _ := json.Marshal(&built)
	want, _ := NewParkedLeadWithin(raw, "", "sub-x", info, MaxParkedBytes)
	if got, err := NewParkedEventWithin(&built, "sub-x", info, MaxParkedBytes); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("an event not decoded: %s (%v), want %s", got, err, want)
	}
}

// BenchmarkParkDecodedEvent parks a decoded event from its body (what the
// worker did: the body is validated and scanned for duplicate keys again)
// and from the event (what it does: DecodeEvent's reading is kept).
func BenchmarkParkDecodedEvent(b *testing.B) {
	var records []string
	for len(strings.Join(records, ",")) < 512<<10 {
		records = append(records, `{"email":"lead`+strings.Repeat("x", 20)+`@example.com","score":12345678901234567890,"tags":["a","b"],"n":{"k":true}}`)
	}
	info := info1006()
	for _, c := range []struct {
		name string
		data []byte
	}{{"contract example", mustRead(b, "contract-event.json")}, {"512 KiB of records", ev("requestContent", `{"input":[`+strings.Join(records, ",")+`]}`)}} {
		e, err := DecodeEvent(c.data, "")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/body", func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewParkedLeadWithin(c.data, e.EventID, e.Subscription, info, stockLimit); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/event", func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewParkedEventWithin(e, e.Subscription, info, stockLimit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
