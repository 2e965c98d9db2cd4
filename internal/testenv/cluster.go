package testenv

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ClusterSize is the number of servers of a NATSCluster: the smallest
// JetStream cluster that keeps a quorum of R3 streams with one server down.
const ClusterSize = 3

// ClusterMaxPayload is the payload limit of the cluster's servers: a stock
// nats-server's, the one production runs with.
const ClusterMaxPayload = 1 << 20

// NATSCluster is three nats-server instances with JetStream, routed to each
// other on loopback, each with its own store dir. Servers keep their ports
// across restarts, so URL stays valid for the whole test.
type NATSCluster struct {
	URL   string // every server's client URL, comma-separated (a NATS URL list)
	tb    testing.TB
	mu    sync.Mutex
	nodes []*clusterNode
}

type clusterNode struct {
	name             string
	port, routePort  int
	storeDir         string
	srv              *server.Server // nil while shut down
	clientURL, route string
}

// StartNATSCluster starts a 3-server JetStream cluster, shut down at cleanup.
// It returns once every server routes to the others and a meta leader is
// elected, so streams can be created at once.
func StartNATSCluster(tb testing.TB) *NATSCluster {
	tb.Helper()
	c := &NATSCluster{tb: tb}
	var urls []string
	for i := range ClusterSize {
		n := &clusterNode{name: "n" + strconv.Itoa(i+1), port: freePort(tb), routePort: freePort(tb),
			storeDir: filepath.Join(tb.TempDir(), "jetstream")}
		n.clientURL = fmt.Sprintf("nats://127.0.0.1:%d", n.port)
		n.route = fmt.Sprintf("nats://127.0.0.1:%d", n.routePort)
		c.nodes = append(c.nodes, n)
		urls = append(urls, n.clientURL)
	}
	c.URL = strings.Join(urls, ",")
	tb.Cleanup(c.shutdownAll)
	for i := range c.nodes {
		if err := c.boot(i); err != nil {
			tb.Fatalf("start NATS cluster: %v", err)
		}
	}
	c.WaitHealthy()
	return c
}

func freePort(tb testing.TB) int {
	tb.Helper()
	_, p, _ := net.SplitHostPort(FreeAddr(tb))
	port, _ := strconv.Atoi(p)
	return port
}

// options are built afresh on every start: the server keeps and changes
// the struct it is given.
func (c *NATSCluster) options(n *clusterNode) *server.Options {
	var routes []string
	for _, o := range c.nodes {
		if o != n {
			routes = append(routes, o.route)
		}
	}
	return &server.Options{
		ServerName: n.name, Host: "127.0.0.1", Port: n.port,
		JetStream: true, StoreDir: n.storeDir, MaxPayload: ClusterMaxPayload,
		Cluster: server.ClusterOpts{Name: "repost-test", Host: "127.0.0.1", Port: n.routePort},
		Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		NoSigs:  true, NoLog: true,
	}
}

func (c *NATSCluster) boot(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[i]
	if n.srv != nil {
		return nil
	}
	s, err := server.NewServer(c.options(n))
	if err != nil {
		return fmt.Errorf("server %s: %w", n.name, err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("server %s not ready within 30s", n.name)
	}
	n.srv = s
	return nil
}

// Server returns server i (0..2), nil while it is shut down.
func (c *NATSCluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// Name is server i's server name (n1, n2, n3).
func (c *NATSCluster) Name(i int) string { return c.nodes[i].name }

// Index returns the index of the server named name, or -1.
func (c *NATSCluster) Index(name string) int {
	for i, n := range c.nodes {
		if n.name == name {
			return i
		}
	}
	return -1
}

// Shutdown stops server i (a clean shutdown: its store stays for Start).
func (c *NATSCluster) Shutdown(i int) {
	c.mu.Lock()
	s := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Start starts server i again on its ports and store dir, and waits until
// the cluster is healthy again.
func (c *NATSCluster) Start(i int) {
	c.tb.Helper()
	if err := c.boot(i); err != nil {
		c.tb.Fatalf("restart NATS server: %v", err)
	}
	c.WaitHealthy()
}

func (c *NATSCluster) shutdownAll() {
	for i := range c.nodes {
		c.Shutdown(i)
	}
}

// WaitHealthy waits until every running server routes to every other
// running one and agrees on a JetStream meta leader.
func (c *NATSCluster) WaitHealthy() {
	c.tb.Helper()
	CheckFor(c.tb, 60*time.Second, func() error {
		running := c.running()
		leaders := 0
		for _, s := range running {
			if got := s.NumRoutes(); got < len(running)-1 {
				return fmt.Errorf("%s has %d routes, want %d", s.Name(), got, len(running)-1)
			}
			if !s.JetStreamIsCurrent() {
				return fmt.Errorf("%s is not current with the meta leader", s.Name())
			}
			if s.JetStreamIsLeader() {
				leaders++
				// Placement of an R3 stream needs the leader to see every
				// peer online with JetStream stats; routes come up first.
				if got := len(s.JetStreamClusterPeers()); got != len(running) {
					return fmt.Errorf("meta leader %s sees %d of %d peers online", s.Name(), got, len(running))
				}
			}
		}
		if leaders != 1 {
			return fmt.Errorf("%d meta leaders", leaders)
		}
		return nil
	})
}

func (c *NATSCluster) running() []*server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*server.Server
	for _, n := range c.nodes {
		if n.srv != nil {
			out = append(out, n.srv)
		}
	}
	return out
}

// account is the account repost's streams live in on a server without
// accounts configured.
const account = server.DEFAULT_GLOBAL_ACCOUNT

// StreamLeader waits for the leader of stream and returns its index.
func (c *NATSCluster) StreamLeader(stream string) int {
	c.tb.Helper()
	return c.leader("stream "+stream, func(s *server.Server) bool { return s.JetStreamIsStreamLeader(account, stream) })
}

// ConsumerLeader waits for the leader of a stream's consumer and returns its index.
func (c *NATSCluster) ConsumerLeader(stream, consumer string) int {
	c.tb.Helper()
	return c.leader("consumer "+consumer, func(s *server.Server) bool {
		return s.JetStreamIsConsumerLeader(account, stream, consumer)
	})
}

func (c *NATSCluster) leader(what string, is func(*server.Server) bool) int {
	c.tb.Helper()
	at := -1
	CheckFor(c.tb, 30*time.Second, func() error {
		for i := range c.nodes {
			if s := c.Server(i); s != nil && is(s) {
				at = i
				return nil
			}
		}
		return fmt.Errorf("no leader of %s", what)
	})
	return at
}

// StepDownStream makes the leader of stream hand leadership to another server.
func (c *NATSCluster) StepDownStream(stream string) {
	c.tb.Helper()
	i := c.StreamLeader(stream)
	if err := c.Server(i).JetStreamStepdownStream(account, stream); err != nil {
		c.tb.Fatalf("step down %s: %v", stream, err)
	}
}

// WaitCurrent waits until every running server holds the current state of
// each stream: after a restart, the server has caught up and may lead again.
func (c *NATSCluster) WaitCurrent(streams ...string) {
	c.tb.Helper()
	CheckFor(c.tb, 60*time.Second, func() error {
		for _, s := range c.running() {
			for _, st := range streams {
				if !s.JetStreamIsStreamCurrent(account, st) {
					return fmt.Errorf("stream %s is not current on %s", st, s.Name())
				}
			}
		}
		return nil
	})
}
