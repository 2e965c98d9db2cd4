package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// demoEvent is one failed post-out the demo publishes.
type demoEvent struct {
	sub, id, kind string
	data          []byte
}

// demoKinds is the mix of the demo: what DAP saw fail, and why.
var demoKinds = []struct {
	kind   string
	weight int
}{
	{"transient", 30}, {"auth", 10}, {"throttle", 10}, {"push", 8},
	{"field-role", 12}, {"type-mismatch", 8}, {"bad-status", 5}, {"hidden-role", 5},
	{"already-done", 2}, {"http-502", 5}, {"invalid", 3}, {"unknown-sub", 2},
}

func pickKind(r *rand.Rand) string {
	total := 0
	for _, k := range demoKinds {
		total += k.weight
	}
	n := r.IntN(total)
	for _, k := range demoKinds {
		if n < k.weight {
			return k.kind
		}
		n -= k.weight
	}
	return demoKinds[0].kind
}

// demoEvents builds n events, the same for the same seed.
func demoEvents(n int, seed uint64, at time.Time) []demoEvent {
	r := rand.New(rand.NewPCG(seed, 0x64656d6f))
	evs := make([]demoEvent, 0, n)
	for i := 0; i < n; i++ {
		kind := pickKind(r)
		evs = append(evs, buildDemoEvent(r, i, kind, at))
	}
	return evs
}

func buildDemoEvent(r *rand.Rand, i int, kind string, at time.Time) demoEvent {
	id := fmt.Sprintf("evt-%06d", i)
	sub := demoSub
	lead := map[string]any{
		"email": fmt.Sprintf("lead%06d@example.com", i), "firstName": "Ada", "lastName": fmt.Sprintf("Lovelace%d", i),
		"company": "Analytical Engines", "numberOfEmployees": json.Number(fmt.Sprint(10 + r.IntN(5000))),
	}
	ev := map[string]any{
		"eventId": id, "leadId": fmt.Sprintf("L-%06d", i), "sourceId": "S-77", "subscription": sub,
		"endpoint": "/rest/v1/leads.json", "attemptedAt": at.Format(time.RFC3339),
	}
	rc := map[string]any{"action": "createOrUpdate", "lookupField": "email", "input": []any{lead}}
	switch kind {
	case "transient":
		code := []string{"604", "611", "713"}[r.IntN(3)]
		ev["response"] = responseLevel(code, map[string]string{"604": "Request timed out", "611": "System error", "713": "Transient Error"}[code])
	case "auth":
		code := []string{"601", "602"}[r.IntN(2)]
		ev["response"] = responseLevel(code, map[string]string{"601": "Access token invalid", "602": "Access token expired"}[code])
	case "throttle":
		code := []string{"606", "615"}[r.IntN(2)]
		ev["response"] = responseLevel(code, map[string]string{"606": "Max rate limit '100' exceeded with in '20' secs", "615": "Concurrent access limit reached"}[code])
	case "push":
		ev["endpoint"] = "/rest/v1/leads/push.json"
		rc = map[string]any{"programName": "MarketoTestProgram1", "programStatus": "Registered", "source": "DAP", "reason": "webinar", "lookupField": "email", "input": []any{lead}}
		ev["response"] = responseLevel("713", "Transient Error")
	case "field-role", "hidden-role":
		lead["role"] = []string{"CTO", "VP Marketing", "Engineer"}[r.IntN(3)]
		if kind == "field-role" {
			ev["response"] = recordLevel("1006", "Field 'role' not found")
		} else {
			ev["response"] = responseLevel("604", "Request timed out") // the mapping defect shows only on repost
		}
	case "type-mismatch":
		lead["numberOfEmployees"] = "fifty"
		ev["response"] = recordLevel("1001", "Invalid value 'fifty'. Required of type 'integer'")
	case "bad-status":
		ev["endpoint"] = "/rest/v1/leads/push.json"
		rc = map[string]any{"programName": "MarketoTestProgram1", "programStatus": "Webinar Attended", "lookupField": "email", "input": []any{lead}}
		ev["response"] = recordLevel("1025", "Program status not found")
	case "already-done":
		ev["response"] = recordLevel("1005", "Lead already exists")
	case "http-502":
		ev["responseStatusCode"] = 502
		ev["responseReason"] = "Bad Gateway"
	case "unknown-sub":
		sub = demoUnknown
		ev["subscription"] = sub
		ev["response"] = responseLevel("611", "System error")
	case "invalid":
		return demoEvent{sub: sub, id: id, kind: kind, data: invalidEvent(r, id)}
	}
	ev["requestContent"] = rc
	data, _ := json.Marshal(ev)
	return demoEvent{sub: sub, id: id, kind: kind, data: data}
}

func responseLevel(code, msg string) map[string]any {
	return map[string]any{"marketoResponse": map[string]any{
		"requestId": "demo#1", "success": false, "errors": []any{map[string]any{"code": code, "message": msg}},
	}, "errors": []string{msg}, "endpoint": "/rest/v1/leads.json", "handleTimeout": false, "failed": true}
}

func recordLevel(code, msg string) map[string]any {
	return map[string]any{"marketoResponse": map[string]any{
		"requestId": "demo#2", "success": true,
		"result": []any{map[string]any{"id": nil, "status": "skipped", "reasons": []any{map[string]any{"code": code, "message": msg}}}},
		"errors": []any{}, "reasonCode": map[string]any{"reason": msg, "statusCode": json.Number(code)},
	}, "errors": []string{msg}, "endpoint": "/rest/v1/leads.json", "handleTimeout": false, "failed": false}
}

// invalidEvent is one of the ways an event can be broken.
func invalidEvent(r *rand.Rand, id string) []byte {
	switch r.IntN(3) {
	case 0: // no leadId
		return []byte(`{"eventId":"` + id + `","subscription":"` + demoSub + `","endpoint":"/rest/v1/leads.json","requestContent":{"input":[{"email":"x@example.com"}]},"responseStatusCode":604}`)
	case 1: // empty input
		return []byte(`{"eventId":"` + id + `","leadId":"L-x","subscription":"` + demoSub + `","endpoint":"/rest/v1/leads.json","requestContent":{"input":[]},"responseStatusCode":604}`)
	default: // not JSON at all: its eventId comes from Nats-Msg-Id
		return []byte("LeadId,RequestContent\nL-1,{oops")
	}
}
