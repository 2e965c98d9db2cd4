package main

import (
	"context"
	"fmt"
	"time"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/connect"
	"github.com/leadops/repost/queue"
)

// connectTimeout bounds reaching NATS: an on-call tool must say "not
// reachable" rather than hang.
const connectTimeout = 10 * time.Second

// loadConfig reads the configuration as repostd does, then --data-dir;
// the named context (--context, else the current one) fills in what
// neither gives. Marketo client secrets are never read: no repostctl
// command calls Marketo.
func loadConfig(e *env, g *globals) (*config.Config, error) {
	_, ct, _, err := selectedContext(e, g)
	if err != nil {
		return nil, err
	}
	path := g.configPath
	if path == "" {
		path = e.getenv("REPOST_CONFIG")
	}
	if path == "" {
		path = ct.Config
	}
	cfg, err := config.LoadWithoutSecrets(path, e.getenv)
	if err != nil {
		return nil, err
	}
	switch {
	case g.dataDir != "":
		cfg.DataDir = g.dataDir
	case ct.DataDir != "" && path == ct.Config && e.getenv(config.EnvDataDir) == "":
		// The configuration is the context's own (or there is none).
		cfg.DataDir = ct.DataDir
	}
	if cfg.NATS.URL == "" && ct.NATSURL != "" {
		cfg.NATS.URL = config.URL(ct.NATSURL)
	}
	return cfg, nil
}

// session is a loaded configuration and a connection to JetStream.
type session struct {
	cfg *config.Config
	q   *queue.Queue
	emb *queue.Embedded
}

// openSession connects to NATS: the configured URL, else the embedded
// server of a repostd running on the data directory; with neither it
// refuses (a fresh ./data would show an empty queue), unless --offline
// starts an embedded server here on the data directory (said on stderr).
func openSession(ctx context.Context, e *env, g *globals) (*session, error) {
	cfg, err := loadConfig(e, g)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg}
	url := cfg.NATS.URL.Reveal()
	if url == "" {
		url = queue.RunningURL(cfg.DataDir)
	}
	if url == "" && !g.offline {
		return nil, usagef("nothing to target: no NATS URL is configured and no repostd is running on the data directory %s.\n"+
			"Target a deployment with --config FILE (or $REPOST_CONFIG) naming nats.url, $REPOST_NATS_URL, --data-dir DIR\n"+
			"of a running repostd, or a named context (--context NAME, repostctl context list); --offline starts an\n"+
			"embedded server on the data directory to read what a stopped repostd left there", cfg.DataDir)
	}
	if url == "" {
		emb, err := queue.StartEmbedded(cfg.DataDir, 0)
		if err != nil {
			return nil, fmt.Errorf("no NATS URL configured and no repostd running on %s: %w", cfg.DataDir, err)
		}
		s.emb, url = emb, emb.URL
		fmt.Fprintf(e.stderr, "repostctl: no NATS URL configured and no repostd running on %s: started an embedded NATS on it for offline inspection\n", cfg.DataDir)
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	s.q, err = queue.Connect(cctx, connect.QueueOptions(cfg, url, "repostctl"))
	if err != nil {
		s.close()
		return nil, err
	}
	// The streams exist once any repostd ran; creating missing ones (never
	// changing existing ones) lets an empty setup be inspected and imported into.
	if err := s.q.Ensure(cctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) close() {
	if s.q != nil {
		s.q.Close()
	}
	if s.emb != nil {
		s.emb.Shutdown()
	}
}
