package worker

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
)

func mustEvent(t *testing.T, endpoint, params string, records ...string) *repost.Event {
	t.Helper()
	body := fmt.Sprintf(`{"eventId":"e","leadId":"L","subscription":"123-ABC-456","endpoint":%q,"requestContent":{%s"input":[%s]},"responseStatusCode":604}`,
		endpoint, params, strings.Join(records, ","))
	ev, err := repost.DecodeEvent([]byte(body), "")
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return ev
}

func mustItem(t *testing.T, ev *repost.Event) *item {
	t.Helper()
	params, input, err := splitRequest(ev)
	if err != nil {
		t.Fatal(err)
	}
	it := &item{ev: ev, params: params, input: input, keys: lookupKeys(ev, len(input))}
	for _, r := range input {
		it.size += len(r) + 1
	}
	it.group = groupKey(ev.Endpoint, params)
	return it
}

func TestSplitRequestKeepsNumbersAndParams(t *testing.T) {
	ev := mustEvent(t, repost.EndpointSyncLeads, `"action":"createOnly","lookupField":"email","asyncProcessing":false,`,
		`{"email":"a@example.com","score":12345678901234567890,"ratio":1.50}`)
	params, input, err := splitRequest(ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(input[0]); !strings.Contains(got, `12345678901234567890`) || !strings.Contains(got, `1.50`) {
		t.Errorf("record %s lost its numbers", got)
	}
	if string(params["action"]) != `"createOnly"` || string(params["asyncProcessing"]) != "false" {
		t.Errorf("params %v", params)
	}
	if _, ok := params["input"]; ok {
		t.Error("input left in params")
	}
}

func TestGroupKey(t *testing.T) {
	a := mustEvent(t, repost.EndpointSyncLeads, `"action":"createOrUpdate","lookupField":"email",`, `{"email":"a@x.com"}`)
	b := mustEvent(t, repost.EndpointSyncLeads, `"lookupField":"email","action":"createOrUpdate",`, `{"email":"b@x.com"}`)
	c := mustEvent(t, repost.EndpointSyncLeads, `"action":"updateOnly","lookupField":"email",`, `{"email":"c@x.com"}`)
	d := mustEvent(t, repost.EndpointPushLead, `"programName":"P","programStatus":"Registered",`, `{"email":"d@x.com"}`)
	e := mustEvent(t, repost.EndpointPushLead, `"programName":"P","programStatus":"Attended",`, `{"email":"e@x.com"}`)
	ka, kb, kc, kd, ke := mustItem(t, a).group, mustItem(t, b).group, mustItem(t, c).group, mustItem(t, d).group, mustItem(t, e).group
	if ka != kb {
		t.Error("parameter order split a group")
	}
	for _, other := range []string{kc, kd, ke} {
		if other == ka {
			t.Error("different action or endpoint shared a group")
		}
	}
	if kd == ke {
		t.Error("different program status shared a call")
	}
}

func TestGroupPacksWithinLimitsAndNeverRepeatsALookupValue(t *testing.T) {
	var items []*item
	for i := range 700 {
		email := fmt.Sprintf("lead%d@example.com", i)
		if i%100 == 99 {
			email = "DUP@example.com" // the same lead, seven times, in different case
		}
		items = append(items, mustItem(t, mustEvent(t, repost.EndpointSyncLeads, "", fmt.Sprintf(`{"email":%q}`, strings.ToLower(email[:3])+email[3:]))))
	}
	batches := group(items, 300, 1_000_000)
	total := 0
	for i, b := range batches {
		if b.records > 300 {
			t.Errorf("batch %d: %d records", i, b.records)
		}
		seen := map[string]bool{}
		recs, _ := b.input()
		for _, r := range recs {
			var m map[string]any
			_ = json.Unmarshal(r, &m)
			k := strings.ToLower(m["email"].(string))
			if seen[k] {
				t.Errorf("batch %d holds %s twice", i, k)
			}
			seen[k] = true
		}
		total += b.records
	}
	if total != 700 {
		t.Errorf("%d records batched, want 700", total)
	}
	if len(batches) > 7 {
		t.Errorf("%d batches; the duplicates should not fragment them beyond 7", len(batches))
	}
	// Bytes bind before records when leads are large.
	big := strings.Repeat("x", 10_000)
	var large []*item
	for i := range 250 {
		large = append(large, mustItem(t, mustEvent(t, repost.EndpointSyncLeads, "", fmt.Sprintf(`{"email":"l%d@x.com","note":%q}`, i, big))))
	}
	for i, b := range group(large, 300, 1_000_000-16*1024) {
		if b.bytes+paramsSize(b.params) > 1_000_000-16*1024 {
			t.Errorf("batch %d: %d bytes over the body limit", i, b.bytes)
		}
	}
}

func TestSplitHalves(t *testing.T) {
	var items []*item
	for i := range 5 {
		items = append(items, mustItem(t, mustEvent(t, repost.EndpointSyncLeads, "", fmt.Sprintf(`{"email":"s%d@x.com"}`, i))))
	}
	b := group(items, 300, 1_000_000)[0]
	l, r := b.split()
	if len(l.items) != 2 || len(r.items) != 3 || l.records+r.records != 5 {
		t.Errorf("split %d + %d", len(l.items), len(r.items))
	}
}

func TestFieldOfTypeMismatch(t *testing.T) {
	ev := mustEvent(t, repost.EndpointSyncLeads, "", `{"email":"a@x.com","numberOfEmployees":"fifty"}`)
	if got := quoted("Invalid value 'fifty'. Required of type 'integer'"); got != "fifty" {
		t.Errorf("quoted = %q", got)
	}
	if got := quoted("Invalid value \u2018fifty\u2019. Required of type \u2018integer\u2019"); got != "fifty" {
		t.Errorf("quoted with typographic quotes = %q", got)
	}
	d := policy.Decision{Code: "1001"}
	if got := fieldOf(d, "Invalid value 'fifty'. Required of type 'integer'", ev); got != "numberOfEmployees" {
		t.Errorf("fieldOf 1001 = %q, want numberOfEmployees (the record's field holding the value)", got)
	}
	if got := fieldOf(policy.Decision{Code: "1006", Field: "role"}, "Field 'role' not found", ev); got != "role" {
		t.Errorf("fieldOf 1006 = %q, want the policy's field", got)
	}
	if got := fieldOf(d, "Invalid value 'absent'. Required of type 'integer'", ev); got != "" {
		t.Errorf("fieldOf with a value in no field = %q, want empty", got)
	}
}
