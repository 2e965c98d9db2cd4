package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// Defaults of Config.
const (
	DefaultMaxAttempts = 10
	DefaultThrottle615 = 2 * time.Second
	DefaultWindow      = 20 * time.Second
	// MaxMaxAttempts bounds Config.MaxAttempts: beyond it a lead would wait
	// years at the backoff's Max, which is a typo, not a policy.
	MaxMaxAttempts = 1000
)

// Backoff shapes the delays of retry rows, with the semantics of
// cenkalti/backoff/v4's ExponentialBackOff: the interval of the n-th
// counted attempt is min(Max, Initial*Multiplier^(n-1)) (Max caps the
// interval, not the randomized delay), randomized within ±Jitter of itself.
type Backoff struct {
	Initial    time.Duration // first interval; default 500ms
	Max        time.Duration // cap of the interval; default 5m
	Multiplier float64       // growth per attempt; default 2
	Jitter     float64       // randomization factor in [0,1); default 0.5; 0 means none
}

// DefaultBackoff returns the backoff used when Config.Backoff is zero.
func DefaultBackoff() Backoff {
	return Backoff{Initial: 500 * time.Millisecond, Max: 5 * time.Minute, Multiplier: 2, Jitter: 0.5}
}

// Config configures an Engine. Zero fields take their defaults.
type Config struct {
	// MaxAttempts bounds counted attempts on retry, split and resend rows;
	// default 10, at most MaxMaxAttempts.
	MaxAttempts int
	// Overrides replaces the action of a code's row (CONTRACT §6: "every row
	// can be overridden per code"). The codes invalid, retries-exhausted and
	// 0 cannot be overridden: they are the engine's own outcomes, not
	// failures a policy could choose to handle differently.
	Overrides map[Code]Action
	// Backoff is used as given unless it is the zero Backoff, which means
	// DefaultBackoff() (as a literal cenkalti ExponentialBackOff, a given
	// Jitter of 0 means no jitter).
	Backoff Backoff
	// Throttle615 is the wait after a 615; default 2s.
	Throttle615 time.Duration
	// Rand returns a number in [0,1) for the jitter; it must be safe for
	// concurrent use if Decide is. Nil means math/rand/v2's Float64, which
	// is seeded by the runtime and safe for concurrent use. Tests inject a
	// fixed one.
	Rand func() float64
}

// ConfigError is New's error: Field names the bad setting the way a config
// file spells it ("maxAttempts", "overrides[1006]", "backoff.max").
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return "policy: " + e.Field + ": " + e.Err.Error() }

// Unwrap returns the cause (ErrUnknownAction for a bad override action).
func (e *ConfigError) Unwrap() error { return e.Err }

// Engine decides what to do with a failed post-out. It is immutable after
// New and safe for concurrent use (given a concurrency-safe Rand).
type Engine struct {
	maxAttempts int
	overrides   map[Code]Action
	backoff     Backoff
	throttle615 time.Duration
	rand        func() float64
	loc         *time.Location
}

// New validates cfg, applies its defaults and returns an Engine. Errors are
// *ConfigError.
func New(cfg Config) (*Engine, error) {
	e := &Engine{maxAttempts: cfg.MaxAttempts, backoff: cfg.Backoff,
		throttle615: cfg.Throttle615, rand: cfg.Rand, overrides: map[Code]Action{}}
	if e.maxAttempts == 0 {
		e.maxAttempts = DefaultMaxAttempts
	}
	if e.maxAttempts < 0 || e.maxAttempts > MaxMaxAttempts {
		return nil, &ConfigError{"maxAttempts", fmt.Errorf("%d is not within 1..%d", cfg.MaxAttempts, MaxMaxAttempts)}
	}
	if e.backoff == (Backoff{}) {
		e.backoff = DefaultBackoff()
	}
	if err := e.backoff.validate(); err != nil {
		return nil, err
	}
	if e.throttle615 == 0 {
		e.throttle615 = DefaultThrottle615
	}
	if e.throttle615 < 0 {
		return nil, &ConfigError{"throttle615", fmt.Errorf("%v is negative", cfg.Throttle615)}
	}
	if e.rand == nil {
		e.rand = rand.Float64
	}
	for c, a := range cfg.Overrides {
		if err := checkOverride(c, a); err != nil {
			return nil, err
		}
		e.overrides[c] = a
	}
	loc, err := quotaLocation()
	if err != nil {
		return nil, &ConfigError{"quotaZone", err}
	}
	e.loc = loc
	return e, nil
}

func (b Backoff) validate() error {
	switch {
	case b.Initial <= 0:
		return &ConfigError{"backoff.initial", fmt.Errorf("%v is not positive", b.Initial)}
	case b.Max < b.Initial:
		return &ConfigError{"backoff.max", fmt.Errorf("%v is below backoff.initial %v", b.Max, b.Initial)}
	case !(b.Multiplier >= 1) || b.Multiplier > 100:
		return &ConfigError{"backoff.multiplier", fmt.Errorf("%v is not within 1..100", b.Multiplier)}
	case !(b.Jitter >= 0 && b.Jitter < 1):
		return &ConfigError{"backoff.jitter", fmt.Errorf("%v is not within [0,1)", b.Jitter)}
	}
	return nil
}

func checkOverride(c Code, a Action) error {
	field := fmt.Sprintf("overrides[%s]", c)
	parsed, err := ParseCode(string(c))
	switch {
	case err != nil:
		return &ConfigError{field, err}
	case parsed != c:
		return &ConfigError{field, fmt.Errorf("code %q is not written canonically (want %q)", string(c), string(parsed))}
	case c == CodeInvalid || c == CodeRetriesExhausted || c == CodeOK || c == CodeExpired:
		return &ConfigError{field, errors.New("this code is the engine's own outcome and cannot be overridden")}
	case !a.Valid():
		return &ConfigError{field, fmt.Errorf("%w %q", ErrUnknownAction, string(a))}
	}
	return nil
}

// Row is one line of `repostctl policy`: the effective rule of a code.
type Row struct {
	Code   Code   `json:"code"`
	Action Action `json:"action"`
	// Attempt: the failed call counts toward maxAttempts.
	Attempt bool `json:"attempt"`
	// Overridden: the action comes from the config, not CONTRACT §6.
	Overridden bool `json:"overridden"`
	// Default: no row of CONTRACT §6 lists the code; it follows "anything
	// else: retry as transient, then park".
	Default     bool   `json:"default"`
	Description string `json:"description"`
}

// rule returns the effective rule of c, overrides applied.
func (e *Engine) rule(c Code) (r rule, listed, overridden bool) {
	r, listed = baseRule(c)
	a, overridden := e.overrides[c]
	if overridden && a != r.action {
		r.action, r.attempt, r.why = a, a.counts(), ""
	}
	return r, listed, overridden
}

// Rule returns the effective row of one code, listed or not.
func (e *Engine) Rule(c Code) Row {
	r, listed, overridden := e.rule(c)
	return Row{Code: c, Action: r.action, Attempt: r.attempt, Overridden: overridden,
		Default: !listed, Description: r.description()}
}

// Action is the action of c's effective rule: what Decide answers for a
// first failure (no attempt used yet), at a fraction of its cost, for
// callers that only need to know whether to go on.
func (e *Engine) Action(c Code) Action {
	r, _, _ := e.rule(c)
	return r.action
}

// Table returns the rows of every code the contract lists, every code the
// seed documents name and every overridden code, sorted: numbers
// ascending, then named codes alphabetically.
func (e *Engine) Table() []Row {
	seen := map[Code]bool{}
	var codes []Code
	add := func(c Code) {
		if !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	for c := range contractRules {
		add(c)
	}
	for c := range otherCodes {
		add(c)
	}
	for c := range e.overrides {
		add(c)
	}
	sort.Slice(codes, func(i, j int) bool { return codeLess(codes[i], codes[j]) })
	rows := make([]Row, len(codes))
	for i, c := range codes {
		rows[i] = e.Rule(c)
	}
	return rows
}

func codeLess(a, b Code) bool {
	na, aok := a.Number()
	nb, bok := b.Number()
	switch {
	case aok && bok:
		return na < nb
	case aok != bok:
		return aok
	}
	return a < b
}

// MaxAttempts returns the effective maxAttempts.
func (e *Engine) MaxAttempts() int { return e.maxAttempts }
