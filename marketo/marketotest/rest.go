package marketotest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// callState follows one REST call from arrival to its record in the stats.
type callState struct {
	at         time.Time // injected clock
	wallStart  time.Time
	path       string
	code       string
	records    int
	processed  bool
	queryToken bool
	admitted   bool
	inflight   int
	keys       []string   // lookup keys registered as in flight
	answered   []Answered // records answered, for the answered-records log
	seq        int        // the call's number, set when it is logged
}

// answer is a response ready to write. The call's slot and stats are settled
// before it is written, so a client that sends its next call as soon as it
// reads this one never races its own previous call.
type answer struct {
	status int
	ctype  string
	body   []byte
	drop   bool
}

var requestSeq atomic.Uint64

func (s *Sim) serveREST(w http.ResponseWriter, r *http.Request) {
	c := &callState{at: s.opts.Now(), wallStart: time.Now(), path: r.URL.Path}
	a := s.handleREST(r, c)
	s.mu.Lock()
	s.releaseLocked(c)
	s.unregisterKeysLocked(c)
	s.finishLocked(c)
	s.mu.Unlock()
	if a.drop {
		dropConnection(w)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	_, err := w.Write(a.body)
	if len(c.answered) > 0 && (err != nil || r.Context().Err() != nil) {
		s.markUndelivered(c.seq)
	}
}

// handleREST runs a REST call through Marketo's checks in order: URI and
// body size, token, method, limits, path, content, faults, then the leads.
func (s *Sim) handleREST(r *http.Request, c *callState) answer {
	lim := s.opts.Limits
	if len(r.URL.RequestURI()) > lim.MaxURIBytes {
		return httpPage(c, http.StatusRequestURITooLong, "414 Request-URI Too Large")
	}
	body, err := readBody(r, lim.MaxBodyBytes)
	if errors.Is(err, errTooLarge) {
		return httpPage(c, http.StatusRequestEntityTooLarge, "413 Request Entity Too Large")
	}
	if err != nil {
		c.code = string(FaultDrop)
		return answer{drop: true}
	}
	ep := route(r)
	s.mu.Lock()
	code, msg := s.authenticateLocked(r, c)
	if code == "" && s.denied != "" {
		code, msg = "603", s.denied
	}
	if code == "" && ep == epWrongMethod {
		code, msg = "605", "HTTP Method not supported"
	}
	if code == "" {
		code, msg = s.admitLocked(c)
	}
	s.mu.Unlock()
	if code != "" {
		return apiError(c, code, msg)
	}
	if ep == epUnknown {
		return apiError(c, "610", "Requested resource not found")
	}
	if ep == epGetLeads {
		return s.getLeads(r, c, body)
	}
	if ep == epDescribe {
		return s.describe(c)
	}
	if ep == epUsage {
		return s.usage(c)
	}
	req, code, msg := s.parseRequest(r, ep, body)
	if req != nil {
		c.records = len(req.Input)
	}
	if code != "" {
		return apiError(c, code, msg)
	}
	absent := s.registerKeys(c, req)
	s.hold(r.Context(), len(req.Input))
	if a, faulted := s.fault(r.Context(), c); faulted {
		return a
	}
	return s.answerLeads(c, req, absent)
}

func (s *Sim) getLeads(r *http.Request, c *callState, body []byte) answer {
	g, code, msg := s.parseGetLeads(r, body)
	if code != "" {
		return apiError(c, code, msg)
	}
	c.records = len(g.values)
	s.hold(r.Context(), 0)
	if a, faulted := s.fault(r.Context(), c); faulted {
		return a
	}
	return s.answerGetLeads(c, g)
}

func (s *Sim) hold(ctx context.Context, records int) {
	s.waitGate(ctx)
	sleepCtx(ctx, s.opts.Latency+time.Duration(records)*s.opts.LatencyPerRecord)
}

// fault draws this call's fault and, unless there is none (or it only
// corrupts the answer), returns the answer that replaces the normal one.
func (s *Sim) fault(ctx context.Context, c *callState) (answer, bool) {
	s.mu.Lock()
	f := s.faults.Draw(s.faultSeq)
	delay := s.faults.slowDelay()
	s.faultSeq++
	s.mu.Unlock()
	if f.Slow {
		sleepCtx(ctx, delay)
	}
	switch f.Kind {
	case Fault604, Fault608, Fault611:
		s.mu.Lock()
		s.refundLocked(c)
		s.mu.Unlock()
		return apiError(c, string(f.Kind), faultMessages[f.Kind]), true
	case Fault713:
		return apiError(c, "713", faultMessages[f.Kind]), true
	case Fault502:
		return httpPage(c, http.StatusBadGateway, "502 Bad Gateway"), true
	case FaultHTML:
		c.code = string(FaultHTML)
		return answer{status: http.StatusOK, ctype: "text/html; charset=utf-8", body: []byte(maintenancePage)}, true
	case FaultDrop:
		c.code = string(FaultDrop)
		return answer{drop: true}, true
	case FaultTruncated:
		c.code = string(FaultTruncated)
	}
	return answer{}, false
}

var faultMessages = map[FaultKind]string{
	Fault604: "Request timed out",
	Fault608: "API Temporarily Unavailable",
	Fault611: "System error",
	Fault713: "Transient Error",
}

const maintenancePage = `<!DOCTYPE html>
<html><head><title>Marketo - Scheduled Maintenance</title></head>
<body><h1>We'll be right back</h1><p>Marketo is undergoing scheduled maintenance.</p></body></html>
`

var errTooLarge = errors.New("body too large")

func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

type endpoint int

const (
	epUnknown endpoint = iota
	epWrongMethod
	epSync
	epPush
	epGetLeads
	epDescribe
	epUsage
)

// route names the endpoint. GET /rest/v1/leads.json is Get Leads by Filter
// Type when it has a filterType (or arrives as POST with _method=GET), and
// a wrong method (605) for Sync Leads otherwise.
func route(r *http.Request) endpoint {
	var ep endpoint
	switch r.URL.Path {
	case SyncLeadsPath:
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPost && q.Get("_method") == http.MethodGet:
			return epGetLeads
		case r.Method == http.MethodGet && q.Has("filterType"):
			return epGetLeads
		}
		ep = epSync
	case PushLeadPath:
		ep = epPush
	case DescribePath:
		if r.Method != http.MethodGet {
			return epWrongMethod
		}
		return epDescribe
	case UsagePath:
		if r.Method != http.MethodGet {
			return epWrongMethod
		}
		return epUsage
	default:
		return epUnknown
	}
	if r.Method != http.MethodPost {
		return epWrongMethod
	}
	return ep
}
