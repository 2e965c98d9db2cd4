package worker

import (
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultMaxHeldBytes is Config.MaxHeldBytes's default: 16 MiB of event
// data per subscription, 16 events at the 1 MiB max payload and about 50
// calls' worth of ordinary (~1 KB) leads, more than MaxPooled's 2,100
// records, so only large events meet it.
const DefaultMaxHeldBytes = 16 << 20

// subjectRoom is what a fetch's byte budget allows, beyond the server's
// max payload, for the subject and ack reply the server counts with each
// message.
const subjectRoom = 4 << 10

// heldSet is what a subscription holds in memory: the events fetched and
// not yet acked or handed back (in the pool, being prepared, in a call),
// with the size of their data. The fetch loop reads it to bound memory by
// bytes (MaxHeldBytes) beside the pool's bound in records (MaxPooled), which
// events near the max payload would multiply into hundreds of MiB.
type heldSet struct {
	mu    sync.Mutex
	msgs  map[jetstream.Msg]int // each message's data size
	bytes int
	peak  int           // the most bytes held at once (tests)
	freed chan struct{} // cap 1: held events were acked or handed back
}

func newHeldSet() *heldSet {
	return &heldSet{msgs: map[jetstream.Msg]int{}, freed: make(chan struct{}, 1)}
}

// add holds msgs and returns how many events and bytes it added (a message
// already held counts nothing).
func (h *heldSet) add(msgs []jetstream.Msg) (n, bytes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range msgs {
		if _, ok := h.msgs[m]; ok {
			continue
		}
		sz := len(m.Data())
		h.msgs[m] = sz
		n, bytes = n+1, bytes+sz
	}
	h.bytes += bytes
	h.peak = max(h.peak, h.bytes)
	return n, bytes
}

// remove forgets msgs and returns how many events and bytes it freed (a
// message not held counts nothing).
func (h *heldSet) remove(msgs []jetstream.Msg) (n, bytes int) {
	h.mu.Lock()
	for _, m := range msgs {
		if sz, ok := h.msgs[m]; ok {
			delete(h.msgs, m)
			n, bytes = n+1, bytes+sz
		}
	}
	h.bytes -= bytes
	h.mu.Unlock()
	if n > 0 {
		signal(h.freed)
	}
	return n, bytes
}

// size is the data held now and the most held at once.
func (h *heldSet) size() (bytes, peak int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bytes, h.peak
}

// list is the messages held now.
func (h *heldSet) list() []jetstream.Msg {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]jetstream.Msg, 0, len(h.msgs))
	for m := range h.msgs {
		out = append(out, m)
	}
	return out
}

// byteRoom is how many more bytes of events the subscription may fetch: 0
// at or above MaxHeldBytes, else what is left below it plus one message of
// the server's max payload, so that one event always fits however large
// (held then stays under MaxHeldBytes plus one message).
func (s *subRunner) byteRoom() int {
	held, _ := s.held.size()
	if held >= s.w.cfg.MaxHeldBytes {
		return 0
	}
	return s.w.cfg.MaxHeldBytes - held + s.w.q.MaxPayload() + subjectRoom
}
