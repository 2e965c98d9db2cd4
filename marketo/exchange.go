package marketo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

// exchange is one HTTP request to make.
type exchange struct {
	method      string
	path        string // under the base URL, without query
	query       string // raw query: may carry credentials, never recorded
	body        []byte
	contentType string
	records     int
	token       string // empty for identity
	timeout     time.Duration
}

// parseFunc turns an answer into a Response or a typed error.
type parseFunc func(status int, body []byte) (*Response, error)

// exchange sends ex once, parses the answer, and records the call. The
// Response is non-nil whenever a request was attempted, and carries the record.
func (c *Client) exchange(ctx context.Context, ex exchange, parse parseFunc) (*Response, error) {
	rec := CallRecord{
		Subscription: c.cfg.Subscription, Method: ex.method, Path: ex.path, Endpoint: c.base,
		Records: ex.records, At: c.now(), RequestBody: c.redactor.clip(ex.body),
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer putBody(buf)
	status, err := c.send(ctx, ex, buf)
	rec.Status = status
	rec.ResponseBody = c.redactor.clip(buf.Bytes())
	var resp *Response
	if err == nil {
		resp, err = parse(status, buf.Bytes())
	}
	if resp == nil {
		resp = &Response{}
	}
	rec.Duration = c.now().Sub(rec.At)
	rec.RequestID = resp.RequestID
	if rec.RequestID == "" {
		var ae *APIError
		if errors.As(err, &ae) {
			rec.RequestID = ae.RequestID
		}
	}
	rec.Code = callCode(err)
	if err != nil {
		rec.Err = c.redactor.string(err.Error())
	}
	resp.Call = rec
	c.emit(rec)
	return resp, err
}

func (c *Client) emit(rec CallRecord) {
	if ce := c.log.Check(zap.DebugLevel, "marketo call"); ce != nil {
		ce.Write(zap.String("subscription", rec.Subscription), zap.String("method", rec.Method),
			zap.String("path", rec.Path), zap.Int("status", rec.Status), zap.String("code", rec.Code),
			zap.String("requestId", rec.RequestID), zap.Int("records", rec.Records),
			zap.Duration("duration", rec.Duration), zap.String("error", rec.Err))
	}
	if c.cfg.OnCall != nil {
		c.cfg.OnCall(rec)
	}
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBody(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // do not keep an occasional huge answer alive
	}
	b.Reset()
	bodyPool.Put(b)
}

// send makes the HTTP request and reads the answer into buf, at most
// ReadLimit bytes. Errors are *NetError or, past the limit, *BadResponseError.
func (c *Client) send(ctx context.Context, ex exchange, buf *bytes.Buffer) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, ex.timeout)
	defer cancel()
	u := c.base + ex.path
	if ex.query != "" {
		u += "?" + ex.query
	}
	var body io.Reader
	if ex.body != nil {
		body = bytes.NewReader(ex.body)
	}
	req, err := http.NewRequestWithContext(ctx, ex.method, u, body)
	if err != nil {
		return 0, &NetError{Method: ex.method, Path: ex.path, Err: errors.New("cannot build request")}
	}
	req.Header.Set("Accept", "application/json")
	if ex.contentType != "" {
		req.Header.Set("Content-Type", ex.contentType)
	}
	if ex.token != "" {
		req.Header.Set("Authorization", "Bearer "+ex.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, c.netError(ex, err)
	}
	defer res.Body.Close()
	n, err := buf.ReadFrom(io.LimitReader(res.Body, c.cfg.ReadLimit+1))
	if n > c.cfg.ReadLimit {
		return res.StatusCode, &BadResponseError{Status: res.StatusCode,
			Reason: "answer longer than the read limit of " + strconv.FormatInt(c.cfg.ReadLimit, 10) + " bytes"}
	}
	if err != nil {
		return res.StatusCode, c.netError(ex, err)
	}
	return res.StatusCode, nil
}

// netError wraps a transport error without the URL (*url.Error prints it,
// query and all).
func (c *Client) netError(ex exchange, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &NetError{Method: ex.method, Path: ex.path, Err: redactedError{err: err, msg: c.redactor.string(err.Error())}}
}

// redactedError keeps the chain of err (for errors.Is/As) with a redacted message.
type redactedError struct {
	err error
	msg string
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// Timeout lets net.Error checks see through the wrapper.
func (e redactedError) Timeout() bool {
	t, ok := e.err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

func callCode(err error) string {
	var (
		ae *APIError
		he *HTTPError
		be *BadResponseError
		ne *NetError
	)
	switch {
	case err == nil:
		return CallOK
	case errors.As(err, &ae):
		return strconv.Itoa(ae.Code)
	case errors.As(err, &he):
		return strconv.Itoa(he.Status)
	case errors.As(err, &be):
		return CallBadResponse
	case errors.As(err, &ne) && ne.Timeout():
		return CallTimeout
	default:
		return CallNetwork
	}
}
