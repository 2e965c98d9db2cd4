package config

import (
	"errors"
	"maps"
	"slices"

	"github.com/leadops/repost/policy"
)

// PolicyOverrides returns policy.overrides in the typed form policy.New takes:
// codes through policy.ParseCode (so "01006" becomes "1006"), actions through
// policy.ParseAction. Its error joins a *ValidationError per bad entry, named
// policy.overrides.<code as written>.
func (c *Config) PolicyOverrides() (map[policy.Code]policy.Action, error) {
	out, p := c.parseOverrides()
	if len(p) > 0 {
		return nil, errors.Join(p...)
	}
	return out, nil
}

func (c *Config) parseOverrides() (map[policy.Code]policy.Action, problems) {
	out := make(map[policy.Code]policy.Action, len(c.Policy.Overrides))
	written := make(map[policy.Code]string, len(c.Policy.Overrides))
	var p problems
	for _, key := range slices.Sorted(maps.Keys(c.Policy.Overrides)) {
		field := "policy.overrides." + key
		code, err := policy.ParseCode(key)
		if err != nil {
			p.wrap(field, err)
			continue
		}
		switch code {
		case policy.CodeOK, policy.CodeInvalid, policy.CodeRetriesExhausted, policy.CodeExpired:
			p.add(field, "code %s is the engine's own outcome and cannot be overridden", code)
			continue
		}
		if prev, dup := written[code]; dup {
			p.add(field, "same code as policy.overrides.%s", prev)
			continue
		}
		action, err := policy.ParseAction(c.Policy.Overrides[key])
		if err != nil {
			p.wrap(field, err)
			continue
		}
		out[code], written[code] = action, key
	}
	return out, p
}

// PolicyConfig returns the policy.Config that the file describes: maxAttempts
// and the overrides. The caller adds what a file does not hold (Backoff, Rand).
func (c *Config) PolicyConfig() (policy.Config, error) {
	o, err := c.PolicyOverrides()
	if err != nil {
		return policy.Config{}, err
	}
	return policy.Config{MaxAttempts: c.Policy.MaxAttempts, Overrides: o}, nil
}

// policyProblems checks policy.*: maxAttempts, each override, then the whole
// through policy.New so that config and engine never disagree on what is valid.
func (c *Config) policyProblems() problems {
	var p problems
	if c.Policy.MaxAttempts < 1 || c.Policy.MaxAttempts > policy.MaxMaxAttempts {
		p.add("policy.maxAttempts", "must be 1..%d, got %d", policy.MaxMaxAttempts, c.Policy.MaxAttempts)
		return p
	}
	overrides, p := c.parseOverrides()
	if len(p) > 0 {
		return p
	}
	if _, err := policy.New(policy.Config{MaxAttempts: c.Policy.MaxAttempts, Overrides: overrides}); err != nil {
		var ce *policy.ConfigError
		if errors.As(err, &ce) {
			p.wrap("policy."+ce.Field, ce.Err)
		} else {
			p.wrap("policy", err)
		}
	}
	return p
}
