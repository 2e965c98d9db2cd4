package marketo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
)

// BenchmarkSyncLeads300 sends Sync Leads calls of 300 realistic records.
// "sim" includes the simulator's own work (schema checks, lead store) in the
// same process; "canned" answers a prebuilt body, so it measures the client:
// body building, HTTP, reading, parsing and the call record.
func BenchmarkSyncLeads300(b *testing.B) {
	in := benchRecords(300)
	p := map[string]json.RawMessage{"action": json.RawMessage(`"createOrUpdate"`), "lookupField": json.RawMessage(`"email"`)}
	b.Run("sim", func(b *testing.B) {
		s := marketotest.NewServer(marketotest.Options{DisableLimits: true, CallLogSize: 1000})
		defer s.Close()
		c := benchClient(b, s.URL, s.Options().ClientID, s.Options().ClientSecret)
		runSync(b, c, p, in)
	})
	b.Run("canned", func(b *testing.B) {
		answer := cannedAnswer(300)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == marketo.IdentityPath {
				io.WriteString(w, `{"access_token":"bench-token:ab","token_type":"bearer","expires_in":3600}`)
				return
			}
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(answer)
		}))
		defer srv.Close()
		runSync(b, benchClient(b, srv.URL, "id", "secret"), p, in)
	})
}

func runSync(b *testing.B, c *marketo.Client, p map[string]json.RawMessage, in []json.RawMessage) {
	ctx := context.Background()
	if _, err := c.SyncLeads(ctx, p, in); err != nil { // token and connection first
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := c.SyncLeads(ctx, p, in)
		if err != nil || len(resp.Results) != len(in) {
			b.Fatalf("%v", err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(len(in))
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
}

func benchClient(b *testing.B, url, id, secret string) *marketo.Client {
	c, err := marketo.New(marketo.Config{Subscription: "123-ABC-456", Endpoint: url, ClientID: id,
		ClientSecret: secret, AllowInsecure: true, OnCall: func(marketo.CallRecord) {}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.CloseIdleConnections)
	return c
}

func benchRecords(n int) []json.RawMessage {
	in := make([]json.RawMessage, n)
	for i := range in {
		in[i] = json.RawMessage(fmt.Sprintf(`{"email":"lead%d@example.com","firstName":"Ann","lastName":"Lee %d",`+
			`"company":"Acme Corp","title":"VP Marketing","phone":"+1 555 0100","country":"US","postalCode":"94105",`+
			`"numberOfEmployees":%d,"leadSource":"DAP","unsubscribed":false}`, i, i, 100+i))
	}
	return in
}

func cannedAnswer(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"requestId":"b#1","success":true,"result":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"status":"updated"}`, 1000+i)
	}
	sb.WriteString("]}")
	return []byte(sb.String())
}
