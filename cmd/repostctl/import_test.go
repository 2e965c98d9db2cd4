package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/queue"
)

// reportCSV writes DAP's report with n rows, every 1000th with a reason
// spanning two lines, and the rows at broken (by index) broken in five
// different ways. It returns the CSV and the line numbers of the broken rows.
func reportCSV(n int, broken map[int]string) (string, []int) {
	var b strings.Builder
	b.WriteString("LeadId,RequestContent,ResponseStatusCode,ResponseReason,Subscription,Campaign\n")
	var lines []int
	line := 2
	for i := 0; i < n; i++ {
		rc := fmt.Sprintf(`{"action":"createOrUpdate","lookupField":"email","input":[{"email":"lead%06d@example.com","role":"CTO"}]}`, i)
		lead, status, reason := fmt.Sprintf("L-%06d", i), "1006", "Field 'role' not found"
		if i%1000 == 999 {
			reason = "Field 'role'\nnot found"
		}
		row := ""
		switch broken[i] {
		case "":
		case "json":
			rc = `{"input":[{"email":`
		case "lead":
			lead = ""
		case "input":
			rc = `{"action":"createOrUpdate","input":[]}`
		case "fields":
			row = lead + "," + csvQuote(rc) + "\n"
		case "status":
			status = "abc"
		}
		if broken[i] != "" {
			lines = append(lines, line)
		}
		if row == "" {
			row = strings.Join([]string{lead, csvQuote(rc), status, csvQuote(reason), fixture.Sub, "fall-2026"}, ",") + "\n"
		}
		b.WriteString(row)
		line += strings.Count(row, "\n")
	}
	return b.String(), lines
}

func csvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

var skippedLine = regexp.MustCompile(`(?m)^skipped line (\d+): `)

// A 10,000-row report with 5 broken rows: the 5 lines are named, the rest
// published, and importing it again publishes nothing new and says so.
func TestImportCSVNamesBrokenLinesAndPublishesTheRest(t *testing.T) {
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub)
	csv, want := reportCSV(10000, map[int]string{17: "json", 2500: "lead", 5000: "input", 7500: "fields", 9998: "status"})
	path := filepath.Join(t.TempDir(), "postout-log.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	want2 := []string{"0 already imported, 9,995 published to POSTOUT_FAILED", "9,995 already imported, 0 published to POSTOUT_FAILED"}
	for run := 1; run <= 2; run++ {
		out, stderr, err := h.run(context.Background(), "import", path)
		if err != nil {
			t.Fatalf("import run %d: %v\n%s", run, err, stderr)
		}
		var got []int
		for _, m := range skippedLine.FindAllStringSubmatch(stderr, -1) {
			var n int
			fmt.Sscan(m[1], &n)
			got = append(got, n)
		}
		sort.Ints(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("run %d: skipped lines %v, want %v\n%s", run, got, want, stderr)
		}
		if !strings.Contains(out, "read 10,000 rows: 9,995 valid, 5 bad (skipped), 0 repeated") ||
			!strings.Contains(out, want2[run-1]) {
			t.Errorf("run %d: output %s", run, out)
		}
		if got := h.count(queue.StreamFailed); got != 9995 {
			t.Fatalf("run %d: %d events in POSTOUT_FAILED, want 9995", run, got)
		}
	}
	// The line numbers of a bad row follow the multi-line quoted fields:
	// row 2500 is on line 2504 (the header is line 1, rows 999 and 1999
	// span two lines each).
	if want[1] != 2504 {
		t.Errorf("broken row 2500 is on line %d, want 2504", want[1])
	}
	checkImported(t, h)
}

// checkImported reads back the first published event.
func checkImported(t *testing.T, h *harness) {
	t.Helper()
	m := h.messages(queue.StreamFailed)[0]
	ev, err := repost.DecodeEvent(m.Data, fixture.Sub)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Nats-Msg-Id") != ev.EventID || !strings.HasPrefix(ev.EventID, "dap-") || ev.LeadID != "L-000000" ||
		ev.Endpoint != repost.EndpointSyncLeads || ev.ResponseStatusCode != "1006" || ev.Failure().Code != "1006" ||
		string(ev.Extra["reportColumns"]) != `{"Campaign":"fall-2026"}` || m.Subject != "dap.postout.failed."+fixture.Sub {
		t.Errorf("imported event %s on %s: %+v", m.Data, m.Subject, ev)
	}
}

// JSON lines from stdin; --subscription fills a report without the column;
// Push Lead is recognized by programName; --strict publishes nothing.
func TestImportJSONLinesAndPushLead(t *testing.T) {
	h := newHarness(t, "https://123-abc-456.mktorest.com", fixture.Sub)
	var jl bytes.Buffer
	for i := 0; i < 3; i++ {
		jl.Write(fixture.Build(i, "push", fixedNow, fixture.Sub).Data)
		jl.WriteString("\n\n")
	}
	jl.WriteString(`{"eventId":"x","leadId":"L","subscription":"123-ABC-456"}` + "\n")
	var out, errb bytes.Buffer
	e := &env{getenv: func(string) string { return "" }, stdin: &jl, stdout: &out, stderr: &errb, now: h.now, loc: berlin}
	if err := runEnv(context.Background(), e, []string{"--config", h.cfgPath, "import", "-"}); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), `skipped line 7: invalid event: field "endpoint": missing`) || h.count(queue.StreamFailed) != 3 {
		t.Errorf("jsonl import: stderr %s, %d published", errb.String(), h.count(queue.StreamFailed))
	}

	rc := `{"programName":"MarketoTestProgram1","programStatus":"Registered","input":[{"email":"p@example.com"}]}`
	csv := "Lead Id,Request Content,Response Status Code,Response Reason\nL-p," + csvQuote(rc) + ",1025,Program status not found\n"
	path := filepath.Join(t.TempDir(), "push.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.run(context.Background(), "import", path); !isUsage(err) {
		t.Errorf("a report without Subscription and no --subscription: %v, want a usage error", err)
	}
	h.mustRun("import", path, "--subscription", fixture.Sub)
	msgs := h.messages(queue.StreamFailed)
	var last map[string]any
	if err := json.Unmarshal(msgs[len(msgs)-1].Data, &last); err != nil || last["endpoint"] != repost.EndpointPushLead {
		t.Errorf("push lead import: %s (%v)", msgs[len(msgs)-1].Data, err)
	}

	bad := strings.Replace(csv, "L-p,", ",", 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	before := h.count(queue.StreamFailed)
	if _, _, err := h.run(context.Background(), "import", path, "--subscription", fixture.Sub, "--strict"); err == nil || isUsage(err) {
		t.Errorf("--strict with a bad row: %v, want a failure", err)
	}
	if h.count(queue.StreamFailed) != before {
		t.Errorf("--strict published")
	}
}
