package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress reports a long operation on stderr: a bar redrawn in place on a
// terminal, else a plain line every few seconds (logs, CI).
type progress struct {
	w        io.Writer
	term     bool
	label    string
	total    int
	now      func() time.Time
	start    time.Time
	last     time.Time
	every    time.Duration
	drawn    bool
	finished bool
}

func newProgress(e *env, label string, total int) *progress {
	p := &progress{w: e.stderr, term: e.terminal, label: label, total: total, now: e.now, every: 5 * time.Second}
	if p.term {
		p.every = 100 * time.Millisecond
	}
	p.start = p.now()
	p.last = p.start
	return p
}

// update shows done of total, with failed ones, at most every p.every.
func (p *progress) update(done, failed int) {
	if p == nil || p.total == 0 {
		return
	}
	now := p.now()
	if now.Sub(p.last) < p.every && done < p.total {
		return
	}
	p.last = now
	p.draw(done, failed, now)
}

func (p *progress) draw(done, failed int, now time.Time) {
	pct := 100 * done / p.total
	rate := ""
	if el := now.Sub(p.start).Seconds(); el > 0.5 {
		rate = fmt.Sprintf(" %.0f/s", float64(done)/el)
	}
	extra := ""
	if failed > 0 {
		extra = fmt.Sprintf(", %d left parked", failed)
	}
	if p.term {
		const width = 30
		fill := width * done / p.total
		bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
		fmt.Fprintf(p.w, "\r%s [%s] %d/%d %3d%%%s%s ", p.label, bar, done, p.total, pct, rate, extra)
		p.drawn = true
		return
	}
	fmt.Fprintf(p.w, "%s: %d/%d (%d%%)%s%s\n", p.label, done, p.total, pct, rate, extra)
}

// finish ends the bar's line so the next output starts clean.
func (p *progress) finish() {
	if p != nil && p.drawn && !p.finished {
		fmt.Fprintln(p.w)
		p.finished = true
	}
}
