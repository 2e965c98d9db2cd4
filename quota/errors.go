package quota

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrUnavailable: the backing store could not be reached or answered
	// garbage. The admission is refused (fail closed).
	ErrUnavailable = errors.New("quota: store unavailable")
	// ErrInvalidSubscription: empty, or holding a hash-tag brace.
	ErrInvalidSubscription = errors.New("quota: invalid subscription")
	// ErrUnknownPenalty: Penalize knows 606, 607 and 615 only.
	ErrUnknownPenalty = errors.New("quota: no penalty for this code")
	// ErrLeaseLost: the lease expired or was released before Renew.
	ErrLeaseLost = errors.New("quota: lease lost")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("quota: store closed")
	// ErrClockSkew: the store's clock and this process's disagree by more
	// than a day, so the Chicago day cannot be chosen.
	ErrClockSkew = errors.New("quota: store clock out of range")
)

// LimitsError names a bad field of Limits.
type LimitsError struct {
	Field  string
	Reason string
}

func (e *LimitsError) Error() string {
	return fmt.Sprintf("quota: limits: %s %s", e.Field, e.Reason)
}

func unavailable(op, sub string, err error) error {
	return fmt.Errorf("quota: %s %s: %w: %w", op, sub, ErrUnavailable, err)
}
