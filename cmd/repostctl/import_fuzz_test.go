package main

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/leadops/repost"
)

const fuzzSub = "123-ABC-456"

// checkImport holds for any input: no panic; every row is accounted for
// exactly once (kept, bad, or an exact repeat); kept rows are valid events
// with unique eventIds; bad rows name a line of the file; reading the same
// bytes twice gives the same events (a rerun publishes the same IDs).
func checkImport(t *testing.T, data []byte) {
	s, err := readImport(bytes.NewReader(data), "", fuzzSub)
	if err != nil {
		return // the whole file was refused (no header, unreadable): nothing published
	}
	if got := len(s.rows) + len(s.bad) + s.dupes; got != s.read {
		t.Fatalf("%d rows read, %d accounted for (%d kept, %d bad, %d repeats)", s.read, got, len(s.rows), len(s.bad), s.dupes)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	ids := map[string]bool{}
	for _, r := range s.rows {
		ev, err := repost.DecodeEvent(r.data, "")
		if err != nil {
			t.Fatalf("line %d kept but invalid: %v", r.line, err)
		}
		if ev.EventID != r.id || ids[r.id] {
			t.Fatalf("line %d: eventId %q repeated or mismatched", r.line, r.id)
		}
		ids[r.id] = true
		if r.line < 1 || r.line > lines {
			t.Fatalf("kept row at line %d of a %d-line file", r.line, lines)
		}
	}
	for _, b := range s.bad {
		if b.line < 1 || b.line > lines || (b.endLine != 0 && b.endLine < b.line) {
			t.Fatalf("bad row %v outside a %d-line file", b, lines)
		}
	}
	again, err := readImport(bytes.NewReader(data), "", fuzzSub)
	if err != nil || len(again.rows) != len(s.rows) {
		t.Fatalf("second read differs: %v", err)
	}
	for i := range s.rows {
		if again.rows[i].id != s.rows[i].id || !bytes.Equal(again.rows[i].data, s.rows[i].data) {
			t.Fatalf("row %d differs between two reads of the same bytes", i)
		}
	}
}

// FuzzImport fuzzes whole files: CSV reports and JSON lines.
func FuzzImport(f *testing.F) {
	f.Add([]byte("LeadId,RequestContent,ResponseStatusCode,ResponseReason\n" +
		`L-1,"{""input"":[{""email"":""a@example.com"",""role"":""CTO""}]}",1006,Field 'role' not found` + "\n"))
	f.Add([]byte("LeadId,RequestContent,ResponseStatusCode,ResponseReason,Subscription,EventId\n" +
		`L-2,"{""programName"":""P"",""input"":[{""email"":""b@example.com""}]}",604,timeout,` + fuzzSub + ",e-2\n" +
		`L-3,"{""input"":[]}",604,x,` + fuzzSub + ",e-3\n" +
		`L-4,"{""input"":[{""email"":""c@example.com""}]},611,"unterminated` + "\n"))
	f.Add([]byte(`{"eventId":"j1","leadId":"L","subscription":"` + fuzzSub + `","endpoint":"/rest/v1/leads.json","requestContent":{"input":[{"email":"a@x.com"}]},"responseStatusCode":604}` + "\n{oops\n"))
	f.Add([]byte("LeadId,RequestContent\n"))
	f.Add([]byte(""))
	f.Fuzz(checkImport)
}

// FuzzImportCSVRow fuzzes the fields of one well-formed CSV row, so the
// fuzzer spends its time in event building rather than in CSV syntax.
func FuzzImportCSVRow(f *testing.F) {
	f.Add("L-1", `{"input":[{"email":"a@example.com"}]}`, "1006", "Field 'role' not found", "")
	f.Add("L-2", `{"programName":"P","programStatus":"S","input":[{"email":"b@x.com","n":1.50}]}`, `"604"`, "", "extra")
	f.Add("", `{"input":[{}]}`, "abc", "\x00", "2026-11-23T10:00:00Z")
	f.Fuzz(func(t *testing.T, lead, request, code, reason, extra string) {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"LeadId", "RequestContent", "ResponseStatusCode", "ResponseReason", "Notes"})
		_ = w.Write([]string{lead, request, code, reason, extra})
		w.Flush()
		checkImport(t, buf.Bytes())
		s, err := readImport(bytes.NewReader(buf.Bytes()), "csv", fuzzSub)
		if err == nil && len(s.rows) == 1 && !strings.Contains(string(s.rows[0].data), `"leadId"`) {
			t.Fatalf("kept row without a leadId: %s", s.rows[0].data)
		}
	})
}
