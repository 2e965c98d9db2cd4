package marketotest

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// getLeadsQuery is Get Leads by Filter Type: GET /rest/v1/leads.json with
// filterType, filterValues (comma-separated, ≤ MaxBatch) and optional fields,
// or the same query as a form body of POST /rest/v1/leads.json?_method=GET
// (what a client does when the URI would exceed 8 KB).
type getLeadsQuery struct {
	filterType string
	values     []string
	fields     []string
}

var defaultGetFields = []string{"email", "firstName", "lastName", "updatedAt", "createdAt"}

func (s *Sim) parseGetLeads(r *http.Request, body []byte) (*getLeadsQuery, string, string) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, "612", "Invalid Content Type"
		}
		if q, err = url.ParseQuery(string(body)); err != nil {
			return nil, "609", "Invalid JSON" // Marketo has no better code for a bad form
		}
	}
	g := &getLeadsQuery{filterType: q.Get("filterType")}
	if g.filterType == "" {
		return nil, "701", "'filterType' cannot be blank"
	}
	if _, ok := s.opts.Schema[g.filterType]; !ok && g.filterType != "id" {
		return nil, "1003", "Invalid filterType '" + g.filterType + "'"
	}
	for v := range strings.SplitSeq(q.Get("filterValues"), ",") {
		if v = strings.TrimSpace(v); v != "" {
			g.values = append(g.values, v)
		}
	}
	switch {
	case len(g.values) == 0:
		return nil, "701", "'filterValues' cannot be blank"
	case len(g.values) > s.opts.Limits.MaxBatch:
		return nil, "1003", "Batch size " + strconv.Itoa(len(g.values)) + " exceeds the limit of " + strconv.Itoa(s.opts.Limits.MaxBatch) + " records"
	}
	g.fields = defaultGetFields
	if f := q.Get("fields"); f != "" {
		g.fields = strings.Split(f, ",")
	}
	return g, "", ""
}

// answerGetLeads returns the matching leads, each with id and the fields asked.
func (s *Sim) answerGetLeads(c *callState, g *getLeadsQuery) answer {
	type row map[string]any
	var rows []row
	s.mu.Lock()
	for _, v := range g.values {
		for _, l := range s.store.find(g.filterType, normalize(v)) {
			all := l.export()
			out := row{"id": l.id}
			for _, f := range g.fields {
				if x, ok := all[f]; ok {
					out[f] = x
				} else {
					out[f] = nil
				}
			}
			rows = append(rows, out)
		}
	}
	s.mu.Unlock()
	c.processed = true
	if c.code == "" {
		c.code = CodeOK
	}
	if rows == nil {
		rows = []row{}
	}
	b, _ := json.Marshal(struct {
		RequestID string `json:"requestId"`
		Result    []row  `json:"result"`
		Success   bool   `json:"success"`
	}{requestID(c.at), rows, true})
	if c.code == string(FaultTruncated) {
		b = b[:len(b)/2]
	}
	return answer{status: http.StatusOK, ctype: "application/json;charset=UTF-8", body: b}
}
