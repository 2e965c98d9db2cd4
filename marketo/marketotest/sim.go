package marketotest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the quota day ends at midnight in Chicago, tzdata or not
)

// Paths the simulator answers.
const (
	IdentityPath  = "/identity/oauth/token"
	SyncLeadsPath = "/rest/v1/leads.json"
	PushLeadPath  = "/rest/v1/leads/push.json"
)

// Sim is a simulated Marketo instance, an http.Handler safe for concurrent use.
type Sim struct {
	opts Options
	loc  *time.Location

	mu       sync.Mutex
	tokens   map[string]*token
	current  *token
	lim      limiterState
	store    *store
	counters counters
	faults   Faults
	faultSeq uint64
	gate     chan struct{} // non-nil while paused
	atGate   int           // calls held by Pause, their lookup values registered
	keys     map[string]*keyState
	denied   string // non-empty: REST calls answer 603 with this message
	secret   string // the client secret identity accepts now
}

var _ http.Handler = (*Sim)(nil)

// New returns a simulator. It panics if opts.Validate fails, as httptest does
// on a setup error; cmd/marketo-sim validates first.
func New(opts Options) *Sim {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	loc, err := time.LoadLocation(quotaZone)
	if err != nil {
		panic(err) // time/tzdata is linked in
	}
	opts = opts.withDefaults()
	return &Sim{
		opts: opts, loc: loc, tokens: map[string]*token{},
		store: newStore(), counters: newCounters(), faults: opts.Faults,
		keys: map[string]*keyState{},
	}
}

// Options returns the options in effect, defaults filled in.
func (s *Sim) Options() Options { return s.opts }

// ServeHTTP answers identity and REST calls.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == IdentityPath:
		s.serveIdentity(w, r)
	case strings.HasPrefix(r.URL.Path, "/rest/"):
		s.serveREST(w, r)
	default:
		http.NotFound(w, r)
	}
}

// SetFaults replaces the injected faults; the call numbering restarts at 0.
// It panics on invalid rates.
func (s *Sim) SetFaults(f Faults) {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.faultSeq = f, 0
}

// Pause holds every admitted REST call (in flight, holding its concurrency
// slot) until Resume. Tests use it to fill the concurrency limit exactly.
func (s *Sim) Pause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
}

// Resume releases the calls held by Pause.
func (s *Sim) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// InFlight returns the number of REST calls in flight.
func (s *Sim) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lim.inflight
}

// Held returns the number of REST calls Pause holds: admitted, their
// request read and their lookup values in flight. InFlight counts a call
// from its admission, before it reaches the hold.
func (s *Sim) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.atGate
}

func (s *Sim) waitGate(ctx context.Context) {
	s.mu.Lock()
	g := s.gate
	if g != nil {
		s.atGate++
	}
	s.mu.Unlock()
	if g == nil {
		return
	}
	defer func() {
		s.mu.Lock()
		s.atGate--
		s.mu.Unlock()
	}()
	select {
	case <-g:
	case <-ctx.Done():
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Server is a Sim listening on a loopback port, like httptest.Server.
type Server struct {
	*Sim
	URL string // base URL, e.g. http://127.0.0.1:41234; identity is URL+IdentityPath
	srv *httptest.Server
}

// NewServer starts a simulator on a loopback port. Close it when done.
func NewServer(opts Options) *Server {
	sim := New(opts)
	srv := httptest.NewServer(sim)
	return &Server{Sim: sim, URL: srv.URL, srv: srv}
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down, closing held calls first.
func (s *Server) Close() {
	s.Resume()
	s.srv.CloseClientConnections()
	s.srv.Close()
}
