package queue

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// URLFile is the file under the data directory where a running embedded
// server writes its client URL, so that repostctl finds the repostd next to it.
const URLFile = "nats.url"

// Embedded is a nats-server with JetStream inside this process, storing
// under a data directory: the default when no NATS URL is configured.
type Embedded struct {
	Server  *server.Server
	URL     string
	dataDir string
}

// StartEmbedded starts a JetStream server storing under dataDir/jetstream,
// listening on 127.0.0.1 at port (0: a free one), and records its URL in
// dataDir/nats.url. Only one process may own a data directory at a time.
func StartEmbedded(dataDir string, port int) (*Embedded, error) {
	return StartEmbeddedMax(dataDir, port, EmbeddedMaxPayload)
}

// EmbeddedMaxPayload is the max_payload of StartEmbedded's server: larger
// than a stock server's, which repost does not need but a demo's events may.
const EmbeddedMaxPayload = 8 << 20

// StartEmbeddedMax is StartEmbedded with a server taking messages of at most
// maxPayload bytes (StockMaxPayload: as a stock nats-server does).
func StartEmbeddedMax(dataDir string, port, maxPayload int) (*Embedded, error) {
	if dataDir == "" {
		return nil, errors.New("queue: embedded NATS needs a data directory")
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("queue: data directory: %w", err)
	}
	if port == 0 {
		port = -1
	}
	opts := &server.Options{
		ServerName: "repost-embedded",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "jetstream"),
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: int32(maxPayload),
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("queue: embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("queue: embedded NATS did not start within 30s")
	}
	e := &Embedded{Server: ns, URL: ns.ClientURL(), dataDir: dataDir}
	if err := os.WriteFile(filepath.Join(dataDir, URLFile), []byte(e.URL+"\n"), 0o640); err != nil {
		e.Shutdown()
		return nil, fmt.Errorf("queue: write %s: %w", URLFile, err)
	}
	return e, nil
}

// Shutdown stops the server and removes the URL file.
func (e *Embedded) Shutdown() {
	if e == nil || e.Server == nil {
		return
	}
	_ = os.Remove(filepath.Join(e.dataDir, URLFile))
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
}

// RunningURL returns the URL of an embedded server another process runs on
// dataDir, or "" when none answers there.
func RunningURL(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, URLFile))
	if err != nil {
		return ""
	}
	u := strings.TrimSpace(string(b))
	hostport := strings.TrimPrefix(u, "nats://")
	if _, p, err := net.SplitHostPort(hostport); err != nil {
		return ""
	} else if _, err := strconv.Atoi(p); err != nil {
		return ""
	}
	c, err := net.DialTimeout("tcp", hostport, 500*time.Millisecond)
	if err != nil {
		return ""
	}
	c.Close()
	return u
}
