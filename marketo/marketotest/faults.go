package marketotest

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// FaultKind is what the simulator does instead of (or to) a normal answer.
type FaultKind string

// Fault kinds. The response-level ones answer HTTP 200 with success:false.
const (
	FaultNone      FaultKind = ""
	Fault604       FaultKind = "604"       // Request timed out (not counted)
	Fault608       FaultKind = "608"       // API Temporarily Unavailable (not counted)
	Fault611       FaultKind = "611"       // System error (not counted)
	Fault713       FaultKind = "713"       // Transient Error
	Fault502       FaultKind = "502"       // HTTP 502 with an HTML body
	FaultHTML      FaultKind = "html"      // HTTP 200 with an HTML maintenance page
	FaultTruncated FaultKind = "truncated" // the call is processed, its JSON answer cut in half
	FaultDrop      FaultKind = "drop"      // the connection is closed without an answer
)

// Faults are injected at the given rates (each in [0,1], their sum ≤ 1),
// drawn from Seed: call number n (counting admitted, well-formed REST calls
// from 0) draws from its own generator seeded with (Seed, n), so a sequence of
// calls meets the same faults on every run with the same seed.
type Faults struct {
	Seed          uint64
	Rate604       float64
	Rate608       float64
	Rate611       float64
	Rate713       float64
	Rate502       float64
	RateHTML      float64
	RateTruncated float64
	RateDrop      float64
	// RateSlow is drawn independently of the kinds above: a slow call waits
	// SlowDelay (default 2 s) before being answered.
	RateSlow  float64
	SlowDelay time.Duration
}

// Fault is the draw for one call.
type Fault struct {
	Kind FaultKind
	Slow bool
}

func (f Faults) rates() []struct {
	kind FaultKind
	rate float64
} {
	return []struct {
		kind FaultKind
		rate float64
	}{
		{Fault604, f.Rate604}, {Fault608, f.Rate608}, {Fault611, f.Rate611},
		{Fault713, f.Rate713}, {Fault502, f.Rate502}, {FaultHTML, f.RateHTML},
		{FaultTruncated, f.RateTruncated}, {FaultDrop, f.RateDrop},
	}
}

// Validate reports a rate outside [0,1] or rates summing over 1.
func (f Faults) Validate() error {
	sum := 0.0
	for _, r := range f.rates() {
		if r.rate < 0 || r.rate > 1 {
			return fmt.Errorf("marketotest: fault rate %s = %v is outside [0,1]", r.kind, r.rate)
		}
		sum += r.rate
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("marketotest: fault rates sum to %v > 1", sum)
	}
	if f.RateSlow < 0 || f.RateSlow > 1 || f.SlowDelay < 0 {
		return fmt.Errorf("marketotest: RateSlow %v or SlowDelay %v out of range", f.RateSlow, f.SlowDelay)
	}
	return nil
}

// Draw returns the fault of call number index. It is a pure function of the
// Faults and the index.
func (f Faults) Draw(index uint64) Fault {
	r := rand.New(rand.NewPCG(f.Seed, index))
	u, slow := r.Float64(), r.Float64()
	out := Fault{Slow: slow < f.RateSlow}
	acc := 0.0
	for _, k := range f.rates() {
		acc += k.rate
		if u < acc {
			out.Kind = k.kind
			break
		}
	}
	return out
}

func (f Faults) slowDelay() time.Duration {
	if f.SlowDelay == 0 {
		return 2 * time.Second
	}
	return f.SlowDelay
}
