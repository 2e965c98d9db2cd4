package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

// item is one event on its way: the message it came in, the decoded event,
// the request split into parameters and records as sent, and its state.
type item struct {
	msg    jetstream.Msg
	ev     *repost.Event
	raw    []byte
	st     queue.EventState
	params map[string]json.RawMessage // every key of requestContent but input, verbatim
	input  []json.RawMessage          // records, verbatim
	keys   []string                   // lookup values in flight while it is sent
	size   int                        // bytes its records add to a body
	group  string                     // what must be equal to share a call
	at     time.Time                  // when DAP attempted it (else when it was published)
	added  time.Time                  // when it entered the pool (its linger starts)
}

// splitRequest turns an event's request into what Marketo is sent: the
// parameters and records exactly as DAP built them.
func splitRequest(ev *repost.Event) (map[string]json.RawMessage, []json.RawMessage, error) {
	if raw := ev.RequestContent.RawInput(); len(raw) == len(ev.RequestContent.Input) && len(raw) > 0 {
		return ev.RequestContent.Params, raw, nil // as decoded: no re-encoding on the hot path
	}
	input, err := ev.RequestContent.InputJSON()
	if err != nil {
		return nil, nil, fmt.Errorf("requestContent.%w", err)
	}
	return ev.RequestContent.Params, input, nil
}

// groupKey is what two events must share to go in one call: the endpoint and
// every request parameter (action, lookupField, partitionName, programName,
// programStatus, source, reason, ...), compared as sent.
func groupKey(endpoint string, params map[string]json.RawMessage) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var sb strings.Builder
	sb.WriteString(endpoint)
	for _, k := range names {
		sb.WriteByte(0)
		sb.WriteString(k)
		sb.WriteByte('=')
		var c bytes.Buffer
		if json.Compact(&c, params[k]) == nil {
			sb.Write(c.Bytes())
		} else {
			sb.Write(params[k])
		}
	}
	return sb.String()
}

// lookupKeys are the lookup values of an event's records, normalised the way
// Marketo matches them (case-insensitively), as "field=value".
func lookupKeys(ev *repost.Event, n int) []string {
	field := ev.RequestContent.LookupField()
	keys := make([]string, 0, n)
	for i := 0; i < n; i++ {
		v := strings.TrimSpace(ev.RequestContent.LookupValue(i))
		if v == "" {
			continue // Marketo will refuse it (1002/701); nothing to collide with
		}
		keys = append(keys, strings.ToLower(field)+"="+strings.ToLower(v))
	}
	return keys
}

// batch is one Marketo call to be: events of one group, at most maxRecords
// records and maxBytes of body, no lookup value twice.
type batch struct {
	endpoint string
	params   map[string]json.RawMessage
	items    []*item
	records  int
	bytes    int
	keys     map[string]bool
}

func (b *batch) fits(it *item, maxRecords, maxBytes int) bool {
	if len(b.items) == 0 {
		return true
	}
	if b.records+len(it.input) > maxRecords || b.bytes+it.size > maxBytes {
		return false
	}
	for _, k := range it.keys {
		if b.keys[k] {
			return false
		}
	}
	return true
}

func (b *batch) add(it *item) {
	b.items = append(b.items, it)
	b.records += len(it.input)
	b.bytes += it.size
	for _, k := range it.keys {
		b.keys[k] = true
	}
}

// input returns the records of the call in order, and for each record the
// index of its item.
func (b *batch) input() ([]json.RawMessage, []int) {
	recs := make([]json.RawMessage, 0, b.records)
	owner := make([]int, 0, b.records)
	for i, it := range b.items {
		for _, r := range it.input {
			recs = append(recs, r)
			owner = append(owner, i)
		}
	}
	return recs, owner
}

func (b *batch) allKeys() []string {
	keys := make([]string, 0, len(b.keys))
	for k := range b.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// group packs items into batches, first fit in arrival order, so a deep
// backlog fills calls to the 300-record limit.
func group(items []*item, maxRecords, maxBytes int) []*batch {
	var out []*batch
	open := map[string][]*batch{}
	for _, it := range items {
		placed := false
		for _, b := range open[it.group] {
			if b.fits(it, maxRecords, maxBytes) {
				b.add(it)
				placed = true
				break
			}
		}
		if placed {
			continue
		}
		b := &batch{endpoint: it.ev.Endpoint, params: it.params, keys: map[string]bool{}}
		b.add(it)
		open[it.group] = append(open[it.group], b)
		out = append(out, b)
	}
	return out
}

// split halves a batch (413, 1036, a body too large).
func (b *batch) split() (*batch, *batch) {
	half := len(b.items) / 2
	l := &batch{endpoint: b.endpoint, params: b.params, keys: map[string]bool{}}
	r := &batch{endpoint: b.endpoint, params: b.params, keys: map[string]bool{}}
	for i, it := range b.items {
		if i < half {
			l.add(it)
		} else {
			r.add(it)
		}
	}
	return l, r
}

// paramsSize is the body a call spends before its records.
func paramsSize(params map[string]json.RawMessage) int {
	n := len(`{"input":[]}`)
	for k, v := range params {
		n += len(k) + len(v) + 4
	}
	return n
}
