package marketo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Secrets the fuzzed answers may quote: the client secret this client was
// configured with and an access token it has seen. Neither may come back in
// an error message.
const (
	fuzzSecret = "fuzz-Client-Secret-4f9c2d71e8"
	fuzzToken  = "0b6e3c1a-7d2f-4e59-9a81-2c4d6e8f0a1b:ab"
)

// Parsers the fuzz target drives, chosen by the kind byte.
const (
	fuzzLeads    = iota // parseLeads: Sync Leads / Push Lead answers
	fuzzRaw             // parseRaw: Describe and GET answers
	fuzzIdentity        // parseIdentity: identity answers
	fuzzKinds
)

// FuzzParseAnswer turns any (status, body) into a Response or an error the
// way the client does for every answer it reads, and checks that:
//   - parsing never panics and is deterministic;
//   - a status outside 2xx is always an *HTTPError with that status;
//   - every error is an *HTTPError, an *APIError with a positive code, or a
//     *BadResponseError, and nothing else;
//   - an accepted lead write has exactly one Result per input record, and
//     those Results survive a round trip through Marketo's wire shape;
//   - no error message holds the client secret or a token the client knows.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.status, []byte(s.body), s.want, s.kind)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, want uint16, kind uint8) {
		n := 1 + int(want)%MaxRecords // Post never sends 0 or more than MaxRecords records
		switch kind % fuzzKinds {
		case fuzzLeads:
			checkLeadsAnswer(t, status, body, n)
		case fuzzRaw:
			checkRawAnswer(t, status, body)
		default:
			checkIdentityAnswer(t, status, body)
		}
	})
}

func fuzzRedactor() *redactor {
	r := newRedactor(fuzzSecret)
	r.remember(fuzzToken)
	return r
}

var fuzzExchange = exchange{method: "POST", path: SyncLeadsPath}

func checkLeadsAnswer(t *testing.T, status int, body []byte, n int) {
	resp, err := parseLeads(status, body, n, fuzzExchange, fuzzRedactor())
	again, err2 := parseLeads(status, bytes.Clone(body), n, fuzzExchange, fuzzRedactor())
	if !reflect.DeepEqual(resp, again) || fmt.Sprint(err) != fmt.Sprint(err2) {
		t.Fatalf("not deterministic: %+v %v / %+v %v", resp, err, again, err2)
	}
	checkError(t, status, err)
	if err != nil {
		return
	}
	if resp == nil || !resp.Success || len(resp.Results) != n {
		t.Fatalf("accepted answer: resp %+v, want success with %d results", resp, n)
	}
	texts := []string{resp.RequestID}
	for _, r := range resp.Results {
		for _, rs := range r.Reasons {
			texts = append(texts, rs.Message, rs.Err().Error())
		}
	}
	checkNoSecret(t, texts...)
	wire, rerr := json.Marshal(wireAnswer(resp))
	if rerr != nil {
		t.Fatalf("re-encode: %v", rerr)
	}
	round, rerr := parseLeads(200, wire, n, fuzzExchange, fuzzRedactor())
	if rerr != nil {
		t.Fatalf("re-encoded answer refused: %v\n%s", rerr, wire)
	}
	if !reflect.DeepEqual(round.Results, resp.Results) {
		t.Fatalf("results changed in a round trip:\n got %+v\nwant %+v", round.Results, resp.Results)
	}
}

func checkRawAnswer(t *testing.T, status int, body []byte) {
	resp, err := parseRaw(status, body, exchange{method: "GET", path: DescribePath}, fuzzRedactor())
	checkError(t, status, err)
	if err != nil {
		return
	}
	if resp == nil || !resp.Success || resp.Results != nil {
		t.Fatalf("accepted raw answer: %+v", resp)
	}
	if len(resp.Result) > 0 && !json.Valid(resp.Result) {
		t.Fatalf("raw result is not JSON: %q", resp.Result)
	}
}

func checkIdentityAnswer(t *testing.T, status int, body []byte) {
	c := &Client{redactor: fuzzRedactor()}
	tok, life, err := c.parseIdentity(status, body)
	if status != 200 {
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != status {
			t.Fatalf("identity status %d: err %v, want an *HTTPError", status, err)
		}
	}
	if err != nil && tok != "" {
		t.Fatalf("identity error %v with a token", err)
	}
	checkError(t, 200, err) // identity refuses every status but 200 itself
	if err != nil {
		return
	}
	if tok == "" || strings.ContainsAny(tok, " \r\n") || life < 0 {
		t.Fatalf("accepted identity answer: token %q life %v", tok, life)
	}
}

// checkError holds for every parser: the typed errors only, an HTTPError for
// any status outside 2xx, and no secret in the message.
func checkError(t *testing.T, status int, err error) {
	t.Helper()
	if status < 200 || status > 299 {
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != status {
			t.Fatalf("status %d: err %v, want an *HTTPError", status, err)
		}
	}
	if err == nil {
		return
	}
	var (
		he *HTTPError
		ae *APIError
		be *BadResponseError
	)
	switch {
	case errors.As(err, &he):
		checkNoSecret(t, err.Error())
	case errors.As(err, &ae):
		if ae.Code <= 0 {
			t.Fatalf("APIError without a code: %#v", ae)
		}
		checkNoSecret(t, err.Error())
	case errors.As(err, &be):
		if !be.Temporary() {
			t.Fatalf("BadResponseError not retryable: %v", be)
		}
		// Its message quotes the snippet with strconv.Quote, whose escapes
		// can spell a secret the answer never held ("\x7f"+"uzz-…" reads
		// "fuzz-…"): the texts it is made of are what must be clean.
		checkNoSecret(t, be.Reason, be.Snippet)
	default:
		t.Fatalf("untyped error %T: %v", err, err)
	}
}

// checkNoSecret fails when a text holds the client secret or the token.
func checkNoSecret(t *testing.T, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range []string{fuzzSecret, fuzzToken} {
			if strings.Contains(text, s) {
				t.Fatalf("a secret (%q) escapes in %q", s, text)
			}
		}
	}
}

// wireAnswer is resp in Marketo's JSON shape, with codes quoted as Marketo
// quotes them.
func wireAnswer(resp *Response) map[string]any {
	results := make([]map[string]any, len(resp.Results))
	for i, r := range resp.Results {
		w := map[string]any{"id": r.ID, "status": r.Status}
		if r.Status == "" {
			w["status"] = nil
		}
		if len(r.Reasons) > 0 {
			reasons := make([]map[string]any, len(r.Reasons))
			for j, rs := range r.Reasons {
				reasons[j] = map[string]any{"code": fmt.Sprint(rs.Code), "message": rs.Message}
			}
			w["reasons"] = reasons
		}
		results[i] = w
	}
	return map[string]any{"requestId": resp.RequestID, "success": true, "result": results, "warnings": resp.Warnings}
}

type fuzzSeed struct {
	status int
	body   string
	want   uint16 // input records, minus one
	kind   uint8
}

// fuzzSeeds are answers as Marketo gives them (the seed documents' success
// and 1006 envelopes, response-level errors, HTTP failures, garbage) and
// answers quoting the secret and the token where a careless parser would
// copy them into an error.
func fuzzSeeds() []fuzzSeed {
	const (
		created = `{"requestId":"155b2#176052739da","success":true,"result":[{"id":1146997,"status":"created","code":null,"message":null,"seq":null,"marketoGuid":null,"reasons":[],"errors":[]}],"errors":[],"reasonCode":{"reason":"Accepted","statusCode":200}}`
		skipped = `{"requestId":"106dc#1760529c03b","success":true,"result":[{"id":null,"status":"skipped","code":null,"message":null,"seq":null,"marketoGuid":null,"reasons":[{"code":"1006","message":"Field 'role' not found"}],"errors":[]}],"errors":[],"reasonCode":{"reason":"Field 'role' not found","statusCode":1006}}`
		mixed   = `{"requestId":"e42b#14272d07d78","success":true,"result":[{"id":50,"status":"created"},{"id":51,"status":"updated"},{"status":"skipped","reasons":[{"code":"1001","message":"Invalid value 'fifty'. Required of type 'integer'"}]}],"warnings":["Lookup field 'email' is not unique"]}`
		html    = `<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>`
	)
	s := []fuzzSeed{
		{200, created, 0, fuzzLeads},
		{200, skipped, 0, fuzzLeads},
		{200, mixed, 2, fuzzLeads},
		{200, mixed, 0, fuzzLeads}, // 3 results for 1 record
		{200, `{"requestId":"a#1","success":false,"errors":[{"code":"601","message":"Access token invalid"}]}`, 0, fuzzLeads},
		{200, `{"requestId":"a#2","success":false,"errors":[{"code":"606","message":"Max rate limit '100' exceeded with in '20' secs"}]}`, 0, fuzzLeads},
		{200, `{"requestId":"a#3","success":false,"errors":[{"code":607,"message":"Daily quota reached"}]}`, 0, fuzzLeads},
		{200, `{"requestId":"a#4","success":false,"errors":[{"code":"615","message":"Concurrent access limit reached"}]}`, 0, fuzzLeads},
		{200, `{"requestId":"a#5","success":false,"errors":[{"code":"1003","message":"Invalid data"}]}`, 0, fuzzLeads},
		{200, `{"requestId":"a#6","success":false,"errors":[]}`, 0, fuzzLeads},
		{200, `{"requestId":"a#7","result":[]}`, 0, fuzzLeads},
		{200, `{"success":true,"result":[{"id":"7","status":"updated","reasons":null}]}`, 0, fuzzLeads},
		{200, `{"success":true,"result":[{"id":1,"sta`, 0, fuzzLeads},
		{200, `{"success":true,"result":[{"id":1,"status":"created"}]} <html>`, 0, fuzzLeads},
		{200, `{"success":"yes"}`, 0, fuzzLeads},
		{200, html, 0, fuzzLeads},
		{200, "", 0, fuzzLeads},
		{200, "Service Unavailable", 0, fuzzLeads},
		{502, html, 0, fuzzLeads},
		{413, `<html>Request Entity Too Large</html>`, 0, fuzzLeads},
		{414, ``, 0, fuzzLeads},
		{302, ``, 0, fuzzLeads},
		{0, ``, 0, fuzzLeads},
		{200, `{"requestId":"b#1","success":true,"result":[{"name":"email","dataType":"email","rest":{"name":"email"}}]}`, 0, fuzzRaw},
		{200, `{"requestId":"b#2","success":true}`, 0, fuzzRaw},
		{200, `{"access_token":"` + fuzzToken + `","token_type":"bearer","expires_in":3599,"scope":"api@x.com"}`, 0, fuzzIdentity},
		{200, `{"access_token":"t","token_type":"bearer","expires_in":0,"scope":"api@x.com"}`, 0, fuzzIdentity},
		{401, `{"error":"unauthorized","error_description":"Bad client credentials"}`, 0, fuzzIdentity},
		{200, `{"error":"invalid_client","error_description":"Bad client credentials"}`, 0, fuzzIdentity},
	}
	// Answers quoting the credentials: in a message, a requestId, a code, a
	// truncated body, an HTML page, a reason, an identity error.
	for _, q := range []string{fuzzSecret, fuzzToken, "Bearer " + fuzzToken, "client_secret=" + fuzzSecret} {
		s = append(s,
			fuzzSeed{200, `{"requestId":"c#1","success":false,"errors":[{"code":"601","message":"Access token invalid: ` + q + `"}]}`, 0, fuzzLeads},
			fuzzSeed{200, `{"requestId":"` + q + `","success":false,"errors":[{"code":"611","message":"System error"}]}`, 0, fuzzLeads},
			fuzzSeed{200, `{"requestId":"c#3","success":false,"errors":[{"code":"` + q + `","message":"x"}]}`, 0, fuzzLeads},
			fuzzSeed{200, `{"requestId":"c#4","success":true,"result":[{"id":1,"status":"` + q, 0, fuzzLeads},
			fuzzSeed{500, `<html>auth=` + q + `</html>`, 0, fuzzLeads},
			fuzzSeed{200, `{"success":true,"result":[{"id":"` + q + `","status":"skipped"}]}`, 0, fuzzLeads},
			fuzzSeed{200, `{"requestId":"` + q + `","success":true,"result":[{"status":"skipped","reasons":[{"code":"1006","message":"Field '` + q + `' not found"}]}]}`, 0, fuzzLeads},
			fuzzSeed{200, `{"requestId":"` + q + `","success":true,"result":{"x":"` + q + `"}}`, 0, fuzzRaw},
			fuzzSeed{200, `{"error":"invalid_client","error_description":"` + q + `"}`, 0, fuzzIdentity},
			fuzzSeed{200, `{"access_token":"` + q + `","expires_in":"` + q + `"}`, 0, fuzzIdentity},
		)
	}
	return s
}
