package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Stream names of the contract (§2).
const (
	StreamFailed    = "POSTOUT_FAILED"
	StreamOutcomes  = "POSTOUT_OUTCOMES"
	StreamParked    = "POSTOUT_PARKED"
	StreamSucceeded = "POSTOUT_SUCCEEDED"

	// BucketEvents is the key-value bucket of per-event state (attempts).
	BucketEvents = "REPOST_EVENTS"

	// ConsumerSucceeded reads the optional success notices of the pipeline.
	ConsumerSucceeded = "repost-succeeded"

	// DefaultPrefix is the subject prefix of the contract.
	DefaultPrefix = "dap.postout"
)

// Subjects builds the subjects under one prefix.
type Subjects struct{ Prefix string }

func (s Subjects) prefix() string {
	if s.Prefix == "" {
		return DefaultPrefix
	}
	return s.Prefix
}

// Failed is the subject of failed post-outs of a subscription.
func (s Subjects) Failed(sub string) string { return s.prefix() + ".failed." + sub }

// Outcome is the subject of outcomes of a subscription.
func (s Subjects) Outcome(sub string) string { return s.prefix() + ".outcome." + sub }

// Parked is the subject of parked leads of a subscription.
func (s Subjects) Parked(sub string) string { return s.prefix() + ".parked." + sub }

// Succeeded is the subject of later successful post-outs of a subscription.
func (s Subjects) Succeeded(sub string) string { return s.prefix() + ".succeeded." + sub }

// All returns the wildcard subject of one kind ("failed", "outcome", ...).
func (s Subjects) All(kind string) string { return s.prefix() + "." + kind + ".>" }

// SubscriptionOf returns the subscription token of a subject of the given
// kind, and false when the subject has not exactly one token after it.
func (s Subjects) SubscriptionOf(kind, subject string) (string, bool) {
	p := s.prefix() + "." + kind + "."
	if !strings.HasPrefix(subject, p) {
		return "", false
	}
	rest := subject[len(p):]
	if rest == "" || strings.Contains(rest, ".") {
		return "", false
	}
	return rest, true
}

// ConsumerName is the durable consumer of a subscription's failed events.
func ConsumerName(sub string) string { return "repost-" + sub }

// ValidToken reports whether s can stand as one subject token and in a
// consumer name: no dots, spaces, wildcards or control characters.
func ValidToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == '.' || r == '*' || r == '>' || r == '/' || r == '\\' || r == 0x7f {
			return false
		}
	}
	return true
}

// eventKey is the key-value key of an event: event IDs may hold characters
// that keys may not, so the key is a digest.
func eventKey(eventID string) string {
	sum := sha256.Sum256([]byte(eventID))
	return "e." + hex.EncodeToString(sum[:16])
}

// MsgID returns the de-duplication ID of a publication about an event.
func MsgID(kind, eventID string) string { return fmt.Sprintf("%s:%s", kind, eventID) }
