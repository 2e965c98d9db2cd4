package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Action is what the worker does with a failed post-out.
type Action string

// The actions of CONTRACT §6.
const (
	// ActionReauth drops the shared token, gets a new one and reposts at once.
	ActionReauth Action = "reauth"
	// ActionThrottle waits (Decision.Until) without counting an attempt.
	ActionThrottle Action = "throttle"
	// ActionRetry reposts after an exponential backoff with jitter.
	ActionRetry Action = "retry"
	// ActionSplit splits the call into smaller calls and retries the parts.
	ActionSplit Action = "split"
	// ActionResend resends the call as POST with _method=GET (HTTP 414).
	ActionResend Action = "resend"
	// ActionPark parks the lead for a human under Decision.ParkCode.
	ActionPark Action = "park"
	// ActionSkip ends the event with nothing to do.
	ActionSkip Action = "skip"
	// ActionHalt halts the subscription: its events are kept, an alert fires.
	ActionHalt Action = "halt"
)

// ErrUnknownAction is wrapped by the errors of ParseAction and New when an
// action is not one of Actions().
var ErrUnknownAction = errors.New("unknown action")

var allActions = []Action{
	ActionReauth, ActionThrottle, ActionRetry, ActionSplit,
	ActionResend, ActionPark, ActionSkip, ActionHalt,
}

// Actions returns every action, in the order of CONTRACT §6.
func Actions() []Action { return append([]Action(nil), allActions...) }

// ParseAction reads an action as written in a config file or a flag
// (case-insensitive, surrounding spaces ignored). Its error wraps
// ErrUnknownAction.
func ParseAction(s string) (Action, error) {
	a := Action(strings.ToLower(strings.TrimSpace(s)))
	if a.Valid() {
		return a, nil
	}
	names := make([]string, len(allActions))
	for i, x := range allActions {
		names[i] = string(x)
	}
	return "", fmt.Errorf("%w %q (want one of %s)", ErrUnknownAction, s, strings.Join(names, ", "))
}

// Valid reports whether a is one of Actions().
func (a Action) Valid() bool {
	for _, x := range allActions {
		if a == x {
			return true
		}
	}
	return false
}

func (a Action) String() string { return string(a) }

// MarshalText writes the action's name.
func (a Action) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, fmt.Errorf("%w %q", ErrUnknownAction, string(a))
	}
	return []byte(a), nil
}

// UnmarshalText accepts what ParseAction accepts, so a YAML or JSON config
// can hold actions directly.
func (a *Action) UnmarshalText(b []byte) error {
	parsed, err := ParseAction(string(b))
	if err != nil {
		return err
	}
	*a = parsed
	return nil
}

// counts reports whether the call that failed with a rule of this action
// counts toward maxAttempts when the row does not say otherwise (an
// override). Waiting for a limit, a token or a credential fix is not the
// lead's fault, so those never count.
func (a Action) counts() bool {
	switch a {
	case ActionReauth, ActionThrottle, ActionHalt:
		return false
	}
	return true
}

// retries reports whether the action leads to another call of the same lead,
// and so is bounded by maxAttempts.
func (a Action) retries() bool {
	return a == ActionRetry || a == ActionSplit || a == ActionResend
}
