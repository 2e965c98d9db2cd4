package marketotest

import (
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"github.com/leadops/repost/internal/strictjson"
)

// leadsRequest is the body of Sync Leads and Push Lead.
type leadsRequest struct {
	Action          string            `json:"action"`
	LookupField     string            `json:"lookupField"`
	PartitionName   string            `json:"partitionName"`
	AsyncProcessing bool              `json:"asyncProcessing"` // accepted, answered synchronously
	ProgramName     string            `json:"programName"`
	ProgramStatus   string            `json:"programStatus"`
	Source          string            `json:"source"`
	Reason          string            `json:"reason"`
	Input           []json.RawMessage `json:"input"`

	ep        endpoint
	partition string   // PartitionName or the default
	records   []record // Input decoded
}

// record is one input record, its fields in the order sent.
type record struct {
	fields []kv
	bad    bool // not a JSON object
}

type kv struct {
	key string
	val any // string, json.Number, bool, nil, []any or map[string]any
}

var validActions = map[string]bool{"createOnly": true, "updateOnly": true, "createOrUpdate": true, "createDuplicate": true}

// parseRequest checks the content type and the call-level parameters.
func (s *Sim) parseRequest(r *http.Request, ep endpoint, body []byte) (*leadsRequest, string, string) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, "612", "Invalid Content Type"
	}
	req := &leadsRequest{ep: ep}
	if err := json.Unmarshal(body, req); err != nil {
		return nil, "609", "Invalid JSON"
	}
	switch {
	case len(req.Input) == 0:
		return req, "701", "'input' cannot be blank"
	case len(req.Input) > s.opts.Limits.MaxBatch:
		return req, "1003", "Batch size " + strconv.Itoa(len(req.Input)) + " exceeds the limit of " + strconv.Itoa(s.opts.Limits.MaxBatch) + " records"
	}
	if req.LookupField == "" {
		req.LookupField = "email"
	}
	req.partition = req.PartitionName
	if req.partition == "" {
		req.partition = DefaultPartition
	}
	if ep == epPush {
		if req.ProgramName == "" {
			return req, "1002", "Missing value for required parameter 'programName'"
		}
		req.Action = "createOrUpdate" // Push Lead always upserts
	}
	if req.Action == "" {
		req.Action = "createOrUpdate"
	}
	if !validActions[req.Action] {
		return req, "1003", "Invalid action '" + req.Action + "'"
	}
	req.records = make([]record, len(req.Input))
	for i, raw := range req.Input {
		req.records[i] = decodeRecord(raw)
	}
	return req, "", ""
}

// decodeRecord reads one record of a body json.Unmarshal accepted, so
// valid JSON: its fields in order, values as a JSON decoder with UseNumber
// gives them.
func decodeRecord(raw json.RawMessage) record {
	if i := strictjson.SkipSpace(raw, 0); i >= len(raw) || raw[i] != '{' {
		return record{bad: true}
	}
	var rec record
	for k, v := range strictjson.Each(raw) {
		val, _ := strictjson.Parse(v, 0)
		rec.fields = append(rec.fields, kv{key: k, val: val})
	}
	return rec
}

func (rec record) get(key string) (any, bool) {
	for i := len(rec.fields) - 1; i >= 0; i-- { // the last duplicate wins, as in a JSON decoder
		if rec.fields[i].key == key {
			return rec.fields[i].val, true
		}
	}
	return nil, false
}

// lookupKey is the in-flight key of a record, "" when it has no usable value.
func lookupKey(field string, rec record) string {
	v, ok := rec.get(field)
	if !ok || v == nil {
		return ""
	}
	n := normalize(rawScalar(v))
	if n == "" {
		return ""
	}
	return field + "\x00" + n
}

// keyState is a lookup value in flight in one or more calls.
type keyState struct {
	calls     int
	contended bool // two calls had it in flight at once
}

// registerKeys marks the call's lookup values as in flight. When two calls
// have the same value in flight and no lead had it when they arrived, both
// create a lead, as two concurrent upserts do in Marketo. The returned map
// holds the call's values that had no lead on arrival.
func (s *Sim) registerKeys(c *callState, req *leadsRequest) map[string]*keyState {
	s.mu.Lock()
	defer s.mu.Unlock()
	absent := map[string]*keyState{}
	for _, rec := range req.records {
		k := lookupKey(req.LookupField, rec)
		if k == "" || slices.Contains(c.keys, k) {
			continue
		}
		ks := s.keys[k]
		if ks == nil {
			ks = &keyState{}
			s.keys[k] = ks
		} else {
			s.counters.sameKeyInFlight++
			ks.contended = true
		}
		ks.calls++
		c.keys = append(c.keys, k)
		if len(s.store.find(req.LookupField, k[len(req.LookupField)+1:])) == 0 {
			absent[k] = ks
		}
	}
	return absent
}

func (s *Sim) unregisterKeysLocked(c *callState) {
	for _, k := range c.keys {
		if ks := s.keys[k]; ks != nil {
			if ks.calls--; ks.calls <= 0 {
				delete(s.keys, k)
			}
		}
	}
	c.keys = nil
}

// answerLeads applies the records and builds the success answer.
func (s *Sim) answerLeads(c *callState, req *leadsRequest, absent map[string]*keyState) answer {
	s.mu.Lock()
	results := make([]Result, len(req.records))
	for i, rec := range req.records {
		results[i] = s.applyLocked(req, rec, absent)
		s.noteAnswered(c, req, rec, results[i])
		s.counters.recordStatus[results[i].Status]++
		for _, r := range results[i].Reasons {
			s.counters.reasonCodes[r.Code]++
		}
	}
	s.mu.Unlock()
	c.processed = true
	if c.code == "" {
		c.code = CodeOK
	}
	b, _ := json.Marshal(envelope{RequestID: requestID(c.at), Success: true, Result: results})
	if c.code == string(FaultTruncated) {
		b = b[:len(b)/2]
	}
	return answer{status: http.StatusOK, ctype: "application/json;charset=UTF-8", body: b}
}
