package marketo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// envelope is the shape of every REST answer.
type envelope[T any] struct {
	RequestID string      `json:"requestId"`
	Success   *bool       `json:"success"`
	Errors    []wireError `json:"errors"`
	Warnings  []string    `json:"warnings"`
	Result    T           `json:"result"`
}

type wireError struct {
	Code    wireInt `json:"code"`
	Message string  `json:"message"`
}

type wireResult struct {
	ID      wireInt     `json:"id"`
	Status  wireStatus  `json:"status"`
	Reasons []wireError `json:"reasons"`
}

// wireInt reads Marketo's numbers, which arrive as numbers, quoted numbers
// or null.
type wireInt int64

func (n *wireInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = 0
		return nil
	}
	if len(b) >= 2 && b[0] == '"' {
		b = b[1 : len(b)-1]
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %.20q", b)
	}
	*n = wireInt(v)
	return nil
}

// wireStatus reads a record status without allocating for the usual ones.
type wireStatus string

func (s *wireStatus) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"created"`:
		*s = StatusCreated
	case `"updated"`:
		*s = StatusUpdated
	case `"skipped"`:
		*s = StatusSkipped
	case "null":
		*s = ""
	default:
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = wireStatus(v)
	}
	return nil
}

// parseLeads reads a lead write's answer; want is the number of input records.
func parseLeads(status int, body []byte, want int, ex exchange, r *redactor) (*Response, error) {
	var env envelope[[]wireResult]
	resp, err := parseEnvelope(status, body, &env, ex, r)
	if err != nil {
		return resp, err
	}
	if len(env.Result) != want {
		return resp, &BadResponseError{Status: status,
			Reason: fmt.Sprintf("%d results for %d input records", len(env.Result), want), Snippet: r.snippet(body)}
	}
	resp.Results = make([]Result, len(env.Result))
	for i, w := range env.Result {
		res := Result{ID: int64(w.ID), Status: string(w.Status)}
		if len(w.Reasons) > 0 {
			res.Reasons = make([]Reason, len(w.Reasons))
			for j, rw := range w.Reasons {
				res.Reasons[j] = Reason{Code: int(rw.Code), Message: r.string(rw.Message)}
			}
		}
		resp.Results[i] = res
	}
	return resp, nil
}

// parseRaw reads any other answer, keeping result raw.
func parseRaw(status int, body []byte, ex exchange, r *redactor) (*Response, error) {
	var env envelope[json.RawMessage]
	resp, err := parseEnvelope(status, body, &env, ex, r)
	if err == nil {
		resp.Result = bytes.Clone(env.Result)
	}
	return resp, err
}

// parseEnvelope checks the status and the envelope; the Response it returns
// carries what could be read (the request ID) even with an error.
func parseEnvelope[T any](status int, body []byte, env *envelope[T], ex exchange, r *redactor) (*Response, error) {
	if status < 200 || status > 299 {
		return nil, &HTTPError{Status: status, Method: ex.method, Path: ex.path, Body: r.snippet(body)}
	}
	if err := checkJSONBody(status, body, r); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, env); err != nil {
		return nil, badJSON(status, body, err, r)
	}
	// The request ID is Marketo's text like any other: it reaches error
	// messages, call records and logs, so it is redacted too.
	resp := &Response{RequestID: r.string(env.RequestID), Warnings: env.Warnings}
	switch {
	case env.Success == nil:
		return resp, &BadResponseError{Status: status, Reason: "answer without success", Snippet: r.snippet(body)}
	case !*env.Success && (len(env.Errors) == 0 || env.Errors[0].Code <= 0):
		return resp, &BadResponseError{Status: status, Reason: "success:false without an error code", Snippet: r.snippet(body)}
	case !*env.Success:
		e := env.Errors[0]
		return resp, &APIError{Code: int(e.Code), Message: r.string(e.Message), RequestID: resp.RequestID}
	}
	resp.Success = true
	return resp, nil
}

// checkJSONBody refuses what is obviously not a JSON object.
func checkJSONBody(status int, body []byte, r *redactor) error {
	t := bytes.TrimSpace(body)
	switch {
	case len(t) == 0:
		return &BadResponseError{Status: status, Reason: "empty body"}
	case t[0] == '<':
		return &BadResponseError{Status: status, Reason: "HTML answer", Snippet: r.snippet(t)}
	case t[0] != '{':
		return &BadResponseError{Status: status, Reason: "not a JSON object", Snippet: r.snippet(t)}
	}
	return nil
}

func badJSON(status int, body []byte, err error, r *redactor) error {
	reason := "invalid JSON: " + err.Error()
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset >= int64(len(bytes.TrimRight(body, " \t\r\n"))) ||
		err.Error() == "unexpected end of JSON input" {
		reason = "truncated JSON"
	}
	return &BadResponseError{Status: status, Reason: r.string(reason), Snippet: r.snippet(body)}
}
