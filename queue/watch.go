package queue

import (
	"sync"

	"github.com/nats-io/nats.go"
)

// ConnEvent is a change of the connection to NATS: it dropped, or it is
// back (nats.go reconnects forever, to any server of the URL list or of the
// cluster the server announced).
type ConnEvent struct {
	Connected bool   // false: the connection dropped; true: it is back
	Server    string // the server connected to, or the one dropped; no credentials
	Err       error  // why it dropped, when nats.go knows
}

// WatchConn calls fn, from nats.go's callback goroutine, on every later
// disconnect and reconnect of the connection. Closing the Queue is not a
// disconnect.
func (q *Queue) WatchConn(fn func(ConnEvent)) {
	q.watch.mu.Lock()
	defer q.watch.mu.Unlock()
	q.watch.fns = append(q.watch.fns, fn)
}

// Connected reports whether the connection is up now.
func (q *Queue) Connected() bool { return q.NC.IsConnected() }

// ConnStatus names the connection's state now ("CONNECTED",
// "RECONNECTING", "CLOSED", ...), for a status page.
func (q *Queue) ConnStatus() string { return q.NC.Status().String() }

// Reconnects is how many times the connection came back since Connect.
func (q *Queue) Reconnects() uint64 { return q.NC.Stats().Reconnects }

// connWatch fans the connection's handlers out to the watchers; it exists
// before the connection, whose handlers are set when dialling.
type connWatch struct {
	mu     sync.Mutex
	fns    []func(ConnEvent)
	server string // the server last connected to
}

func (w *connWatch) options() []nats.Option {
	return []nats.Option{
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() || nc.IsDraining() {
				return // Close, not a failure
			}
			w.mu.Lock()
			server := w.server
			w.mu.Unlock()
			w.notify(ConnEvent{Server: server, Err: err})
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			w.notify(ConnEvent{Connected: true, Server: w.connected(nc)})
		}),
	}
}

// connected records the server nc is connected to, and returns it.
func (w *connWatch) connected(nc *nats.Conn) string {
	u := nc.ConnectedUrlRedacted()
	w.mu.Lock()
	w.server = u
	w.mu.Unlock()
	return u
}

func (w *connWatch) notify(ev ConnEvent) {
	w.mu.Lock()
	fns := append([](func(ConnEvent)){}, w.fns...)
	w.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}
