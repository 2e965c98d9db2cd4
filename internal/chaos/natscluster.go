package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/queue"
)

// ClusterSize is the number of nats-server processes of a -cluster run.
const ClusterSize = 3

// natsNode is one server of a -cluster run: its ports and store dir stay
// the same across restarts.
type natsNode struct {
	name            string
	port, routePort int
	dir             string
	p               *proc
}

// newNATSNodes picks the ports of the cluster's servers.
func newNATSNodes(dir string) ([]*natsNode, error) {
	var nodes []*natsNode
	for i := range ClusterSize {
		n := &natsNode{name: "n" + strconv.Itoa(i), dir: filepath.Join(dir, "jetstream-n"+strconv.Itoa(i))}
		var err error
		if n.port, err = freePort(); err != nil {
			return nil, err
		}
		if n.routePort, err = freePort(); err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// clusterURL is the URL list of every server of the cluster.
func (c *cluster) clusterURL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", n.port)
	}
	return strings.Join(urls, ",")
}

// startNATSCluster starts every server of the cluster.
func (c *cluster) startNATSCluster() error {
	for i := range c.nodes {
		if err := c.startNode(i); err != nil {
			return err
		}
	}
	return nil
}

// startNode runs server i with routes to the others; a stock nats-server
// (max_payload 1 MiB).
func (c *cluster) startNode(i int) error {
	n := c.nodes[i]
	var routes []string
	for _, o := range c.nodes {
		if o != n {
			routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", o.routePort))
		}
	}
	conf := filepath.Join(c.dir, "nats-server.conf")
	if err := os.WriteFile(conf, []byte("max_payload: "+strconv.Itoa(natsMaxPayload)+"\n"), 0o600); err != nil {
		return err
	}
	args := []string{"-c", conf, "-js", "-sd", n.dir, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-n", n.name,
		"--cluster_name", "repost-chaos", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", n.routePort),
		"--routes", strings.Join(routes, ",")}
	p, err := startProc("nats-"+n.name, filepath.Join(c.dir, "nats-server-"+n.name+".log"), c.bins.NATS, args, nil)
	if err != nil {
		return err
	}
	n.p = c.track(p)
	return waitDial(p, fmt.Sprintf("127.0.0.1:%d", n.port), 20*time.Second)
}

// stopNode stops server i with the run's NATS signal.
func (c *cluster) stopNode(i int) error {
	sig := syscall.SIGTERM
	if c.o.NATSSignal == "kill" {
		sig = syscall.SIGKILL
	}
	err := c.nodes[i].p.stop(sig, 20*time.Second)
	if sig == syscall.SIGKILL {
		return nil
	}
	return err
}

func (c *cluster) nodeIndex(name string) int {
	for i, n := range c.nodes {
		if n.name == name {
			return i
		}
	}
	return -1
}

// leaderTarget is what a -cluster run takes the leader of, in order.
type leaderTarget struct {
	what   string
	leader func(ctx context.Context, js jetstream.JetStream) (string, error)
}

func streamLeader(name string) leaderTarget {
	return leaderTarget{"stream " + name, func(ctx context.Context, js jetstream.JetStream) (string, error) {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return "", err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return "", err
		}
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return "", errors.New("no leader")
		}
		return info.Cluster.Leader, nil
	}}
}

func consumerLeader(stream, name string) leaderTarget {
	return leaderTarget{"consumer " + name, func(ctx context.Context, js jetstream.JetStream) (string, error) {
		c, err := js.Consumer(ctx, stream, name)
		if err != nil {
			return "", err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return "", err
		}
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return "", errors.New("no leader")
		}
		return info.Cluster.Leader, nil
	}}
}

// leaderTargets are the leaders the issue names: the failed stream, the
// subscription's consumer, then the outcome stream.
func leaderTargets() []leaderTarget {
	return []leaderTarget{
		streamLeader(queue.StreamFailed),
		consumerLeader(queue.StreamFailed, queue.ConsumerName(fixture.Sub)),
		streamLeader(queue.StreamOutcomes),
	}
}

// replicated are the streams a restarted server must have caught up on
// before the next leader is taken: the KV bucket is a stream too.
var replicated = []string{queue.StreamFailed, queue.StreamOutcomes, queue.StreamParked, queue.StreamSucceeded, "KV_" + queue.BucketEvents}

// killLeader stops the server leading t, waits Downtime, starts it again
// and waits until every stream has all its replicas current.
func (r *runner) killLeader(ctx context.Context, t leaderTarget) error {
	var name string
	if err := poll(ctx, 30*time.Second, func(ctx context.Context) (err error) {
		name, err = t.leader(ctx, r.q.JS)
		return err
	}); err != nil {
		return fmt.Errorf("chaos: leader of %s: %w", t.what, err)
	}
	i := r.c.nodeIndex(name)
	if i < 0 {
		return fmt.Errorf("chaos: leader of %s is %q, not a server of the run", t.what, name)
	}
	from := time.Now()
	r.moment(fmt.Sprintf("NATS server %s, leader of %s, stopped (%s)", name, t.what, r.o.NATSSignal))
	if err := r.c.stopNode(i); err != nil {
		r.moment(fmt.Sprintf("nats-server %s exit: %v", name, err))
	}
	time.Sleep(r.o.Downtime)
	if err := r.c.startNode(i); err != nil {
		return err
	}
	caught := "every stream current"
	if err := poll(ctx, 30*time.Second, r.allCurrent); err != nil {
		// Not fatal: the run's checks say whether the drain suffered.
		caught = fmt.Sprintf("not every stream current after 30 s (%v)", err)
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a leaderless consumer answers nothing
	after, err := t.leader(lctx, r.q.JS)
	cancel()
	if err != nil {
		after = "none yet (" + err.Error() + ")"
	}
	r.moment(fmt.Sprintf("NATS server %s started, %s; %s now led by %s", name, caught, t.what, after))
	r.rep.Chaos.NATSRestarts++
	r.rep.Chaos.LeaderKills = append(r.rep.Chaos.LeaderKills, t.what+" on "+name)
	r.window("nats "+name, from)
	return nil
}

// allCurrent is nil once every replicated stream has a leader and all its
// followers current.
func (r *runner) allCurrent(ctx context.Context) error {
	for _, name := range replicated {
		s, err := r.q.JS.Stream(ctx, name)
		if err != nil {
			return err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		cl := info.Cluster
		if cl == nil || cl.Leader == "" || len(cl.Replicas) != ClusterSize-1 {
			return fmt.Errorf("stream %s: leader or replicas missing", name)
		}
		for _, p := range cl.Replicas {
			if !p.Current || p.Offline {
				return fmt.Errorf("stream %s: replica %s not current", name, p.Name)
			}
		}
	}
	return nil
}

// poll calls fn (with a 5 s deadline each) until it returns nil or
// timeout passes, and returns its last error.
func poll(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := fn(cctx)
		cancel()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
