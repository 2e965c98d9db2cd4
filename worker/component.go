package worker

import "context"

// component is one of the worker's background loops (heartbeat, pauses,
// expiry, unrouted, succeeded, gauges), the way asynq's server gives each
// of its own a start and a shutdown. Run starts them and stops them in the
// order it writes out.
type component struct {
	name string
	run  func(ctx context.Context)
	// after runs once the loop has ended, within stop (the heartbeat's
	// withdrawal).
	after  func()
	cancel context.CancelFunc
	done   chan struct{}
}

func newComponent(name string, run func(ctx context.Context)) *component {
	return &component{name: name, run: run}
}

// start runs the loop until ctx ends or stop is called.
func (c *component) start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go func() { defer close(c.done); c.run(ctx) }()
}

// stop ends the loop and returns once it has, and after has run; a
// component never started returns at once.
func (c *component) stop() {
	if c.done == nil {
		return
	}
	c.cancel()
	<-c.done
	if c.after != nil {
		c.after()
		c.after = nil
	}
}
