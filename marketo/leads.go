package marketo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/leadops/repost/internal/strictjson"
)

// REST paths the client knows.
const (
	SyncLeadsPath = "/rest/v1/leads.json"
	PushLeadPath  = "/rest/v1/leads/push.json"
	DescribePath  = "/rest/v1/leads/describe.json"
)

// Record statuses in a lead write's results.
const (
	StatusCreated = "created"
	StatusUpdated = "updated"
	StatusSkipped = "skipped"
)

// LeadsRequest is a lead write exactly as DAP built it: the top-level
// parameters (action, lookupField, programName…) and the input records, both
// sent verbatim so that field values and number types reach Marketo unchanged.
type LeadsRequest struct {
	Endpoint string                     // SyncLeadsPath or PushLeadPath (any /rest/ path)
	Params   map[string]json.RawMessage // every key but "input"
	Input    []json.RawMessage          // 1..MaxRecords JSON objects
}

// Response is Marketo's answer to a call.
type Response struct {
	RequestID string
	Success   bool
	// Results has one entry per input record, in input order (lead writes).
	Results []Result
	// Result is the raw result array (DoGet, Describe).
	Result   json.RawMessage
	Warnings []string
	// Call records the last HTTP exchange made for this response.
	Call CallRecord
}

// Result is the outcome of one input record.
type Result struct {
	ID      int64  // Marketo lead ID, 0 when none (skipped)
	Status  string // StatusCreated, StatusUpdated, StatusSkipped (or what Marketo said)
	Reasons []Reason
}

// Reason explains a skipped record.
type Reason struct {
	Code    int
	Message string
}

// Err returns the reason as an *APIError, to match with errors.Is against
// the record-level sentinels (ErrFieldNotFound…).
func (r Reason) Err() error { return &APIError{Code: r.Code, Message: r.Message} }

// Err returns the first reason of a skipped record as an *APIError, nil when
// the record was not skipped or no reason was given.
func (r Result) Err() error {
	if r.Status != StatusSkipped || len(r.Reasons) == 0 {
		return nil
	}
	return r.Reasons[0].Err()
}

// SyncLeads sends a Sync Leads call (POST /rest/v1/leads.json).
func (c *Client) SyncLeads(ctx context.Context, params map[string]json.RawMessage, input []json.RawMessage) (*Response, error) {
	return c.Post(ctx, LeadsRequest{Endpoint: SyncLeadsPath, Params: params, Input: input})
}

// PushLead sends a Push Lead call (POST /rest/v1/leads/push.json); params
// must hold programName.
func (c *Client) PushLead(ctx context.Context, params map[string]json.RawMessage, input []json.RawMessage) (*Response, error) {
	if _, ok := params["programName"]; !ok {
		return nil, fmt.Errorf("%w: push lead needs programName", ErrInvalidRequest)
	}
	return c.Post(ctx, LeadsRequest{Endpoint: PushLeadPath, Params: params, Input: input})
}

// Post sends a lead write. It refuses before sending a request over
// MaxRecords records or MaxBodyBytes (*SizeError) or malformed
// (ErrInvalidRequest). It reauthenticates and resends once on 601/602.
// Errors: *APIError (success:false), *HTTPError, *BadResponseError (also when
// the results do not match the input), *NetError. When a request was sent,
// the Response is returned even with an error, for its Call record.
func (c *Client) Post(ctx context.Context, req LeadsRequest) (*Response, error) {
	if err := checkPath(req.Endpoint); err != nil {
		return nil, err
	}
	body, err := buildBody(req)
	if err != nil {
		return nil, err
	}
	ex := exchange{method: "POST", path: req.Endpoint, body: body, contentType: "application/json",
		records: len(req.Input), timeout: c.cfg.Timeout}
	n := len(req.Input)
	return c.authorized(ctx, ex, func(status int, b []byte) (*Response, error) {
		return parseLeads(status, b, n, ex, c.redactor)
	})
}

// PostNow is Post with the access token in hand: no identity call and no
// wait of any kind comes before the request leaves, so a call admitted by a
// rate limiter reaches Marketo when it was admitted. Call Ready first.
// Without a usable token it sends nothing and returns ErrNoToken; a 601 or
// 602 answer drops the token and is returned, not resent (call Ready, have
// the call admitted again, and send it again).
func (c *Client) PostNow(ctx context.Context, req LeadsRequest) (*Response, error) {
	if err := checkPath(req.Endpoint); err != nil {
		return nil, err
	}
	body, err := buildBody(req)
	if err != nil {
		return nil, err
	}
	tok, ok := c.local.get(c.now())
	if !ok {
		return nil, ErrNoToken
	}
	ex := exchange{method: "POST", path: req.Endpoint, body: body, contentType: "application/json",
		records: len(req.Input), timeout: c.cfg.Timeout, token: tok}
	n := len(req.Input)
	resp, err := c.exchange(ctx, ex, func(status int, b []byte) (*Response, error) {
		return parseLeads(status, b, n, ex, c.redactor)
	})
	if isTokenRejected(err) {
		c.invalidate(ctx, tok, err)
	}
	return resp, err
}

// authorized runs ex with the access token, and once more with a new token
// when Marketo rejects the first (601, 602).
func (c *Client) authorized(ctx context.Context, ex exchange, parse parseFunc) (*Response, error) {
	for attempt := 1; ; attempt++ {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return nil, err
		}
		ex.token = tok
		resp, err := c.exchange(ctx, ex, parse)
		if attempt == 1 && isTokenRejected(err) {
			c.invalidate(ctx, tok, err)
			continue
		}
		return resp, err
	}
}

func checkPath(p string) error {
	if !strings.HasPrefix(p, "/rest/") || strings.ContainsAny(p, "?#\\ ") || strings.Contains(p, "..") {
		return fmt.Errorf("%w: endpoint %q is not a /rest/ path", ErrInvalidRequest, p)
	}
	return nil
}

// buildBody writes {params…, "input":[records…]} with the params in key
// order and every value verbatim.
func buildBody(req LeadsRequest) ([]byte, error) {
	n := len(req.Input)
	if n == 0 {
		return nil, fmt.Errorf("%w: no input records", ErrInvalidRequest)
	}
	if n > MaxRecords {
		return nil, &SizeError{Records: n, Limit: MaxRecords}
	}
	keys := make([]string, 0, len(req.Params))
	size := 16 // exact size is checked after building; this one never exceeds it by much
	least := 0 // bytes the body has at least: refused at once beyond the limit
	for k, v := range req.Params {
		if k == "input" {
			return nil, fmt.Errorf("%w: input is not a parameter", ErrInvalidRequest)
		}
		if !strictjson.Valid(v) {
			return nil, fmt.Errorf("%w: parameter %q is not JSON", ErrInvalidRequest, k)
		}
		keys = append(keys, k)
		size += len(k) + len(v) + 8
		least += len(k) + len(v)
	}
	for i, r := range req.Input {
		if !isObject(r) || !strictjson.Valid(r) {
			return nil, fmt.Errorf("%w: input record %d is not a JSON object", ErrInvalidRequest, i)
		}
		size += len(r) + 1
		least += len(r)
	}
	if least > MaxBodyBytes {
		return nil, &SizeError{Records: n, Bytes: size, Limit: MaxBodyBytes}
	}
	slices.Sort(keys)
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.WriteByte('{')
	for _, k := range keys {
		b.Write(strictjson.AppendString(b.AvailableBuffer(), k))
		b.WriteByte(':')
		b.Write(req.Params[k])
		b.WriteByte(',')
	}
	b.WriteString(`"input":[`)
	for i, r := range req.Input {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r)
	}
	b.WriteString("]}")
	if b.Len() > MaxBodyBytes {
		return nil, &SizeError{Records: n, Bytes: b.Len(), Limit: MaxBodyBytes}
	}
	return b.Bytes(), nil
}

func isObject(r json.RawMessage) bool {
	t := bytes.TrimLeft(r, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}
