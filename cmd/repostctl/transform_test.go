package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
)

func TestRequeueID(t *testing.T) {
	tests := []struct{ id, want string }{
		{"evt-7f3a", "evt-7f3a~r1"},
		{"evt-7f3a~r1", "evt-7f3a~r2"},
		{"evt-7f3a~r9", "evt-7f3a~r10"},
		{"evt~rx", "evt~rx~r1"},
		{"evt-~r", "evt-~r~r1"},
		{"a~r1~r3", "a~r1~r4"},
	}
	for _, tt := range tests {
		if got := requeueID(tt.id); got != tt.want {
			t.Errorf("requeueID(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func mustTransforms(t *testing.T, tf transformFlags) transforms {
	t.Helper()
	tr, err := tf.parse()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTransformsApply(t *testing.T) {
	tests := []struct {
		name    string
		tf      transformFlags
		in      string
		want    string
		wantErr string
	}{
		{"rename", transformFlags{rename: []string{"role=jobTitle"}},
			`{"input":[{"email":"a@x","role":"CTO"}]}`, `{"input":[{"email":"a@x","jobTitle":"CTO"}]}`, ""},
		{"rename absent field", transformFlags{rename: []string{"role=jobTitle"}},
			`{"input":[{"email":"a@x"}]}`, `{"input":[{"email":"a@x"}]}`, ""},
		{"rename onto a different value", transformFlags{rename: []string{"role=jobTitle"}},
			`{"input":[{"role":"CTO","jobTitle":"Boss"}]}`, "", `field "jobTitle": already set`},
		{"drop and set", transformFlags{drop: []string{"role"}, set: []string{"leadSource=DAP replay"}},
			`{"input":[{"email":"a@x","role":"CTO"}]}`, `{"input":[{"email":"a@x","leadSource":"DAP replay"}]}`, ""},
		{"coerce integer", transformFlags{coerce: []string{"n=integer"}},
			`{"input":[{"n":"1,234"},{"n":"12.0"},{"n":""},{"n":7}]}`, `{"input":[{"n":1234},{"n":12},{"n":null},{"n":7}]}`, ""},
		{"coerce integer fails", transformFlags{coerce: []string{"n=integer"}},
			`{"input":[{"n":"fifty"}]}`, "", `field "n": "fifty" is not an integer`},
		{"coerce in the second record names it", transformFlags{coerce: []string{"n=integer"}},
			`{"input":[{"n":"5"},{"n":"x"}]}`, "", `input[1]: field "n"`},
		{"coerce boolean", transformFlags{coerce: []string{"u=boolean"}},
			`{"input":[{"u":"Yes"},{"u":"0"},{"u":true}]}`, `{"input":[{"u":true},{"u":false},{"u":true}]}`, ""},
		{"coerce boolean fails", transformFlags{coerce: []string{"u=boolean"}},
			`{"input":[{"u":"maybe"}]}`, "", "is not a boolean"},
		{"coerce date", transformFlags{coerce: []string{"d=date"}},
			`{"input":[{"d":"11/23/2026"},{"d":"2026-11-23T10:00:00Z"},{"d":"Nov 23 2026"}]}`,
			`{"input":[{"d":"2026-11-23"},{"d":"2026-11-23"},{"d":"2026-11-23"}]}`, ""},
		{"coerce date fails", transformFlags{coerce: []string{"d=date"}},
			`{"input":[{"d":"someday"}]}`, "", "is not a date"},
		{"coerce an object fails", transformFlags{coerce: []string{"d=date"}},
			`{"input":[{"d":{"y":2026}}]}`, "", "an object value cannot be converted"},
		{"program status on sync leads fails", transformFlags{programStatus: "Registered"},
			`{"input":[{"email":"a@x"}]}`, "", "Push Lead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := repost.ParseRequestContent([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			err = mustTransforms(t, tt.tf).apply(rc, repost.EndpointSyncLeads)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var te *transformError
				if !errors.As(err, &te) {
					t.Errorf("err %T is not a *transformError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(rc)
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func parkedOf(t *testing.T, data []byte, code string) *repost.ParkedLead {
	t.Helper()
	entry, err := repost.NewParkedLead(data, repost.ParkInfo{Code: "1025", Reason: "x", ParkedAt: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	p, err := repost.DecodeParkedLead(entry)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The requeued event carries requeueOf at the top level, keeps the
// original response, and a requeue of a requeue is ~r2.
func TestBuildRequeue(t *testing.T) {
	ev := fixture.Build(3, "bad-status", fixedNow, fixture.Sub)
	p := parkedOf(t, ev.Data, "1025")
	rq, err := buildRequeue(p, mustTransforms(t, transformFlags{programStatus: "Registered"}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := repost.DecodeEvent(rq.data, fixture.Sub)
	if err != nil {
		t.Fatal(err)
	}
	if got.EventID != "evt-000003~r1" || got.RequeueOf != "evt-000003" ||
		got.RequestContent.ProgramStatus() != "Registered" || !bytes.Equal(got.Response, p.Event.Response) ||
		got.Failure().Code != "1025" {
		t.Errorf("requeued event: %s", rq.data)
	}
	if !strings.Contains(rq.before, `"programStatus": "Webinar Attended"`) || !strings.Contains(rq.after, `"programStatus": "Registered"`) {
		t.Errorf("diff texts:\n%s\n%s", rq.before, rq.after)
	}
	again, err := buildRequeue(parkedOf(t, rq.data, "1025"), transforms{})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := repost.DecodeEvent(again.data, ""); g.EventID != "evt-000003~r2" || g.RequeueOf != "evt-000003~r1" {
		t.Errorf("requeue of a requeue: %s", again.data)
	}
	// An invalid original cannot be requeued.
	inv := parkedOf(t, []byte(`{"eventId":"e1","subscription":"123-ABC-456"}`), "invalid")
	if _, err := buildRequeue(inv, transforms{}); err == nil || !strings.Contains(err.Error(), "not a valid event") {
		t.Errorf("invalid original: %v", err)
	}
}

func TestUnifiedDiff(t *testing.T) {
	a := "{\n  \"input\": [\n    {\n      \"email\": \"a@x\",\n      \"role\": \"CTO\"\n    }\n  ]\n}"
	b := "{\n  \"input\": [\n    {\n      \"email\": \"a@x\",\n      \"jobTitle\": \"CTO\"\n    }\n  ]\n}"
	var w bytes.Buffer
	unifiedDiff(&w, "old", "new", a, b)
	want := `--- old
+++ new
@@ -2,7 +2,7 @@
   "input": [
     {
       "email": "a@x",
-      "role": "CTO"
+      "jobTitle": "CTO"
     }
   ]
 }
`
	if w.String() != want {
		t.Errorf("diff:\n%s\nwant:\n%s", w.String(), want)
	}
	w.Reset()
	unifiedDiff(&w, "a", "b", a, a)
	if !strings.Contains(w.String(), "(no change)") {
		t.Errorf("no change: %s", w.String())
	}
}

func TestParseSince(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2h", fixedNow.Add(-2 * time.Hour), false},
		{"90m", fixedNow.Add(-90 * time.Minute), false},
		{"2026-11-23T10:00:00Z", time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), false},
		{"-2h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, fixedNow)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v", tt.in, got, err)
		}
		if err != nil && !isUsage(err) {
			t.Errorf("parseSince(%q): %T is not a usage error", tt.in, err)
		}
	}
}

func TestSniffAndCSVLines(t *testing.T) {
	for in, want := range map[string]string{
		"  \n{\"eventId\":1}": "jsonl", "\ufeff{": "jsonl", "LeadId,RequestContent": "csv", "": "csv",
	} {
		if got := sniffFormat(bufioReader(in)); got != want {
			t.Errorf("sniff %q = %s, want %s", in, got, want)
		}
	}
	csv := "LeadId,RequestContent,ResponseStatusCode,ResponseReason\n" +
		"L-1,\"{\"\"input\"\":[{\"\"email\"\":\"\"a@x\"\"}]}\",604,\"two\nlines\"\n" +
		"L-2,\"{oops\",604,x\n" +
		"L-3,bad\"quote,604,x\n" +
		"L-4,\"{\"\"input\"\":[{\"\"email\"\":\"\"b@x\"\"}]}\",604,x\n" +
		"L-5,\"unterminated,604,x\nL-6,y,604,x\n"
	set, err := readImport(strings.NewReader(csv), "csv", "123-ABC-456")
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, b := range set.bad {
		bad = append(bad, b.String()[:strings.Index(b.String(), ":")])
	}
	if len(set.rows) != 2 || set.rows[0].line != 2 || set.rows[1].line != 6 ||
		strings.Join(bad, ",") != "line 4,line 5,lines 7-8" {
		t.Errorf("rows %+v, bad %v", set.rows, set.bad)
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
