package worker

import (
	"sync"
	"time"
)

// pool holds one subscription's fetched events until a call is granted for
// them: admit, then fill, then send. While the window or concurrency is
// binding, events keep arriving here, so the call granted next leaves full;
// while budget is free, a partial batch leaves once its oldest event has
// waited one linger. Only the send loop takes batches; the fetch loop adds.
type pool struct {
	maxRecords, maxBytes int
	linger, backlogHold  time.Duration

	mu      sync.Mutex
	groups  map[string][]*item // by group key, in arrival order
	records int
	busy    map[string]int // lookup values in this replica's calls in flight
	// incoming: a backlog is being delivered (the last event fetched had
	// more behind it, or an empty fetch found events not yet delivered) and
	// the pool has room. A partial batch then waits for it rather than leave
	// half empty: as long as a call of this replica is in flight (its end
	// frees ack slots, so more events come), else backlogHold at least.
	incoming bool
	inflight int   // calls taken from the pool and not done
	pace     pacer // holds partial batches to the quota's pace (pacing.go); nil: none
	// binding reports that the window or concurrency refused an admission
	// lately (tail.go); nil: never.
	binding func() bool
	added   chan struct{} // cap 1: events were added or a lookup value freed
	taken   chan struct{} // cap 1: events left the pool
}

// newPool makes a pool; backlogHold is the longest a backlog being
// delivered holds a partial batch while no call is in flight.
func newPool(maxRecords, maxBytes int, linger, backlogHold time.Duration) *pool {
	return &pool{maxRecords: maxRecords, maxBytes: maxBytes, linger: linger, backlogHold: backlogHold,
		groups: map[string][]*item{}, busy: map[string]int{},
		added: make(chan struct{}, 1), taken: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// add puts fetched events in the pool, now being their arrival.
func (p *pool) add(items []*item, now time.Time) {
	if len(items) == 0 {
		return
	}
	p.mu.Lock()
	for _, it := range items {
		it.added = now
		p.groups[it.group] = append(p.groups[it.group], it)
		p.records += len(it.input)
	}
	p.mu.Unlock()
	signal(p.added)
}

// setIncoming records whether more events are on their way to the pool.
func (p *pool) setIncoming(v bool) {
	p.mu.Lock()
	changed := p.incoming != v
	p.incoming = v
	p.mu.Unlock()
	if changed && !v {
		signal(p.added)
	}
}

// isIncoming reports whether more events are on their way to the pool.
func (p *pool) isIncoming() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.incoming
}

// groupLen is the number of events of a group waiting in the pool.
func (p *pool) groupLen(group string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.groups[group])
}

// size is the number of records waiting in the pool.
func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.records
}

// candidate is the batch a group would send now: first fit in arrival
// order, skipping events whose lookup values a call of this replica has in
// flight (they wait for it). closed reports that an event was refused for
// the body size or a lookup value already in the batch: the batch can
// never take it, so waiting to fill it is pointless.
func (p *pool) candidate(items []*item) (b *batch, picked []int, closed bool) {
	for i, it := range items {
		if p.isBusy(it) {
			continue
		}
		if b == nil {
			b = &batch{endpoint: it.ev.Endpoint, params: it.params, keys: map[string]bool{}}
		}
		if len(b.items) > 0 && b.records+len(it.input) > p.maxRecords {
			if b.records >= p.maxRecords {
				break
			}
			continue // a multi-record event too many for what is left
		}
		if !b.fits(it, p.maxRecords, p.maxBytes) {
			closed = true
			continue
		}
		b.add(it)
		picked = append(picked, i)
	}
	return b, picked, closed
}

// backlogLingers bounds how long a backlog being delivered holds a partial
// batch while no call is in flight (at least backlogHold, a window: a
// backlog's events are late already, and a call spent half empty now is a
// call the window lacks later): an idle subscription never has a backlog,
// so its latency is one linger.
const backlogLingers = 5

func (p *pool) sendable(b *batch, closed bool, first, now time.Time) bool {
	if closed || b.records >= p.maxRecords {
		return true
	}
	hold, ok := p.hold()
	return ok && now.Sub(first) >= hold && p.paceWait(now, first) == 0
}

func (p *pool) paceWait(now, first time.Time) time.Duration {
	if p.pace == nil {
		return 0
	}
	return p.pace.wait(now, first)
}

// hold is how long a partial batch waits: one linger, longer while a
// backlog is being delivered; ok is false while it waits for a call in
// flight to end.
func (p *pool) hold() (time.Duration, bool) {
	switch {
	case !p.incoming:
		return p.linger, true
	case p.binding != nil && p.binding():
		// Calls are scarce: a partial call now is one a full call lacks
		// later, so the batch waits for its group to fill, up to patience.
		return partialPatience * p.backlogHold, true
	case p.inflight > 0:
		return 0, false
	}
	return max(backlogLingers*p.linger, p.backlogHold), true
}

// partialPatience, in backlogHolds (a window at least), is how long a
// partial batch may be passed over at a grant for full ones.
const partialPatience = 3

// rank orders the batches a granted call may take: full (or unable to
// fill, or partial and kept waiting partialPatience backlog holds), then
// ready, then the rest.
func (p *pool) rank(full, ready bool, waited time.Duration) int {
	switch {
	case full, ready && waited >= partialPatience*p.backlogHold:
		return 2
	case ready:
		return 1
	}
	return 0
}

func (p *pool) isBusy(it *item) bool {
	for _, k := range it.keys {
		if p.busy[k] > 0 {
			return true
		}
	}
	return false
}

// ready reports whether some group has a batch to send at now: full, closed
// (it can never take its next event), or its oldest event waited a linger
// and no backlog is being delivered. If none has, wait is how long until the
// next one's wait ends (0: only new events or a freed lookup value can
// change that).
func (p *pool) ready(now time.Time) (ok bool, wait time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, items := range p.groups {
		b, picked, closed := p.candidate(items)
		if b == nil {
			continue
		}
		first := items[picked[0]].added
		if p.sendable(b, closed, first, now) {
			return true, 0
		}
		if hold, ok := p.hold(); ok {
			if w := max(hold-now.Sub(first), p.paceWait(now, first)); wait == 0 || w < wait {
				wait = w
			}
		}
	}
	return false, wait
}

// take fills the call just granted: a full batch before a partial one
// (under a binding limit a call spent on a partial batch is one the
// window lacks, while the partial group keeps filling), then a ready batch
// before one that is not, then the group whose oldest sendable event has
// waited longest. A partial batch waiting patience or longer ranks with the
// full ones, so a rare group is never starved by a busy one. Its lookup
// values are marked in flight until done is called. nil when the pool has
// nothing to send.
func (p *pool) take(now time.Time) *batch {
	p.mu.Lock()
	defer p.mu.Unlock()
	var (
		best       *batch
		bestKey    string
		bestPicked []int
		bestFirst  time.Time
		bestRank   int
		bestFull   bool // full, or unable to fill: not paced
	)
	for key, items := range p.groups {
		b, picked, closed := p.candidate(items)
		if b == nil {
			continue
		}
		first := items[picked[0]].added
		full := closed || b.records >= p.maxRecords
		rank := p.rank(full, p.sendable(b, closed, first, now), now.Sub(first))
		if best == nil || rank > bestRank || (rank == bestRank && first.Before(bestFirst)) {
			best, bestKey, bestPicked, bestFirst, bestRank, bestFull = b, key, picked, first, rank, full
		}
	}
	if best == nil {
		return nil
	}
	items := p.groups[bestKey]
	rest := make([]*item, 0, len(items)-len(bestPicked))
	j := 0
	for i, it := range items {
		if j < len(bestPicked) && bestPicked[j] == i {
			j++
			continue
		}
		rest = append(rest, it)
	}
	if len(rest) == 0 {
		delete(p.groups, bestKey)
	} else {
		p.groups[bestKey] = rest
	}
	p.records -= best.records
	p.inflight++
	if p.pace != nil {
		p.pace.took(now, !bestFull)
	}
	for k := range best.keys {
		p.busy[k]++
	}
	signal(p.taken)
	return best
}

// topUp moves to b, a call taken from the pool and waiting for admission,
// what its group gained meanwhile and fits; it returns those events as a
// batch (nil: none), their lookup values marked in flight.
func (p *pool) topUp(b *batch) *batch {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(b.items) == 0 || b.records >= p.maxRecords {
		return nil
	}
	key := b.items[0].group
	items := p.groups[key]
	if len(items) == 0 {
		return nil
	}
	add := &batch{endpoint: b.endpoint, params: b.params, keys: map[string]bool{}}
	rest := items[:0:0]
	for _, it := range items {
		if !p.isBusy(it) && b.records+add.records+len(it.input) <= p.maxRecords &&
			b.bytes+add.bytes+it.size <= p.maxBytes && !clashes(b, it) && !clashes(add, it) {
			add.add(it)
			continue
		}
		rest = append(rest, it)
	}
	if len(add.items) == 0 {
		return nil
	}
	if len(rest) == 0 {
		delete(p.groups, key)
	} else {
		p.groups[key] = rest
	}
	p.records -= add.records
	for k := range add.keys {
		p.busy[k]++
	}
	signal(p.taken)
	return add
}

func clashes(b *batch, it *item) bool {
	for _, k := range it.keys {
		if b.keys[k] {
			return true
		}
	}
	return false
}

// done ends a call taken from the pool, freeing its lookup values.
func (p *pool) done(keys []string) {
	p.mu.Lock()
	p.inflight--
	for _, k := range keys {
		if p.busy[k]--; p.busy[k] <= 0 {
			delete(p.busy, k)
		}
	}
	p.mu.Unlock()
	signal(p.added)
}

// takePartial takes from the pool every group too small to fill a call
// (the tail's collector takes them, tail.go).
func (p *pool) takePartial() []*item {
	p.mu.Lock()
	var out []*item
	for key, items := range p.groups {
		n := 0
		for _, it := range items {
			n += len(it.input)
		}
		if n >= p.maxRecords {
			continue
		}
		out = append(out, items...)
		p.records -= n
		delete(p.groups, key)
	}
	p.mu.Unlock()
	if len(out) > 0 {
		signal(p.taken)
	}
	return out
}

// takeAll empties the pool (a long block defers, SIGTERM hands back).
func (p *pool) takeAll() []*item {
	p.mu.Lock()
	var out []*item
	for _, items := range p.groups {
		out = append(out, items...)
	}
	p.groups = map[string][]*item{}
	p.records = 0
	p.mu.Unlock()
	signal(p.taken)
	return out
}
