package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost/queue"
)

// Defaults of Config.
const (
	DefaultRefresh       = 5 * time.Second
	DefaultSnapshotEvery = time.Second
	DefaultParkedEvery   = 5 * time.Second
	DefaultSampleEvery   = 2 * time.Second
	DefaultSpan          = 10 * time.Minute
	DefaultPageSize      = 20
)

// Config tunes a Console. Zero fields take the defaults above.
type Config struct {
	// Subs are the configured subscriptions, for the chart's sampler.
	Subs []Sub
	// ShowLeadData shows parked leads' field values (PII); false shows
	// field names only.
	ShowLeadData bool
	// Refresh is how often an open page reloads its content.
	Refresh time.Duration
	// SnapshotEvery is the least time between two status collections,
	// whatever the number of viewers.
	SnapshotEvery time.Duration
	// ParkedEvery is the least time between two readings of one
	// subscription's parked entries.
	ParkedEvery time.Duration
	// SampleEvery is the chart's sampling period; Span its width.
	SampleEvery, Span time.Duration
	// PageSize is the number of leads on one page of a parked group.
	PageSize int
	Now      func() time.Time
	Logger   *zap.Logger
}

// Console serves /ui/. Run its sampler with Run; serve Handler.
type Console struct {
	q    *queue.Queue
	cfg  Config
	log  *zap.Logger
	snap *cached[Status]
	hist *history
	tmpl *template.Template

	mu     sync.Mutex
	parked map[string]*cached[*parkedIndex]
	pages  *cached[struct{}] // serialises story readings: one at a time
}

//go:embed assets
var assets embed.FS

// New returns a console over q (parked entries, stories), lim (the
// chart's samples) and src (the status snapshot).
func New(q *queue.Queue, lim Limiter, src Source, cfg Config) (*Console, error) {
	if q == nil || lim == nil || src == nil {
		return nil, errors.New("console: queue, limiter and status source are required")
	}
	cfg.Refresh = orDefault(cfg.Refresh, DefaultRefresh)
	cfg.SnapshotEvery = orDefault(cfg.SnapshotEvery, DefaultSnapshotEvery)
	cfg.ParkedEvery = orDefault(cfg.ParkedEvery, DefaultParkedEvery)
	cfg.SampleEvery = orDefault(cfg.SampleEvery, DefaultSampleEvery)
	cfg.Span = orDefault(cfg.Span, DefaultSpan)
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	t, err := template.New("").Funcs(funcs(cfg.Now)).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, err
	}
	c := &Console{q: q, cfg: cfg, log: cfg.Logger, tmpl: t, parked: map[string]*cached[*parkedIndex]{}}
	c.snap = &cached[Status]{every: cfg.SnapshotEvery, now: cfg.Now, collect: src.Snapshot}
	c.hist = newHistory(lim, cfg.Subs, cfg.SampleEvery, cfg.Span, cfg.Now)
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Run samples calls per window for the chart until ctx ends.
func (c *Console) Run(ctx context.Context) { c.hist.run(ctx) }

// Collections reports how many status snapshots were collected: at most
// one per Config.SnapshotEvery, however many viewers there are.
func (c *Console) Collections() int { return c.snap.collections() }

// Prefix is where the console is mounted.
const Prefix = "/ui/"

// Handler serves the console under Prefix. Only GET and HEAD are served.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets/static")
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /ui/{$}", c.overview)
	mux.HandleFunc("GET /ui/sub/{id}", c.subscription)
	mux.HandleFunc("GET /ui/sub/{id}/parked", c.group)
	return secure(mux)
}

// csp allows this origin's script, style sheet and images, nothing else:
// no inline script, no third-party request, no framing, no form.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
