package repost

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/leadops/repost/policy"
)

// Kind is what became of an event (CONTRACT §4).
type Kind string

// The outcomes. Every published event gets exactly one terminal outcome
// (reposted, parked, skipped or rejected); requeued and discarded are what
// repostctl later does with a parked lead; paused and resumed record an
// operator's hold on a whole subscription (no event, no lead: the eventId
// names the action).
const (
	KindReposted  Kind = "reposted"  // Marketo accepted the lead
	KindParked    Kind = "parked"    // it needs a human
	KindSkipped   Kind = "skipped"   // nothing to do: 1005, 1037 or superseded
	KindRejected  Kind = "rejected"  // not a valid event; also parked under invalid
	KindRequeued  Kind = "requeued"  // a parked lead sent back to the failed stream
	KindDiscarded Kind = "discarded" // a parked lead dropped by a human
	KindPaused    Kind = "paused"    // a subscription held by an operator
	KindResumed   Kind = "resumed"   // an operator's hold lifted
)

var kinds = map[Kind]bool{
	KindReposted: true, KindParked: true, KindSkipped: true,
	KindRejected: true, KindRequeued: true, KindDiscarded: true,
	KindPaused: true, KindResumed: true,
}

// Valid reports whether k is one of the outcomes.
func (k Kind) Valid() bool { return kinds[k] }

// Terminal reports whether k ends an event's processing by the worker.
func (k Kind) Terminal() bool {
	return k == KindReposted || k == KindParked || k == KindSkipped || k == KindRejected
}

// UnmarshalJSON refuses an unknown outcome.
func (k *Kind) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("outcome: %w", err)
	}
	if !Kind(s).Valid() {
		return fmt.Errorf("outcome: unknown %q", s)
	}
	*k = Kind(s)
	return nil
}

// Outcome is published once per event on dap.postout.outcome.<subscription>
// (CONTRACT §4).
type Outcome struct {
	EventID      string      `json:"eventId"`
	LeadID       string      `json:"leadId"`
	Subscription string      `json:"subscription"`
	Kind         Kind        `json:"outcome"`
	Code         policy.Code `json:"code"`
	Reason       string      `json:"reason"`
	// MarketoID and Status are set when reposted (Status created|updated).
	MarketoID int64     `json:"marketoId,omitempty"`
	Status    string    `json:"status,omitempty"`
	Attempts  int       `json:"attempts"`
	At        time.Time `json:"at"`
	// Actor is who acted, for outcomes written by repostctl.
	Actor string `json:"actor,omitempty"`
	// RequeuedAs is the eventId a requeued lead was published under.
	RequeuedAs string `json:"requeuedAs,omitempty"`
	// RequeueOf is the eventId of the parked lead this event requeues.
	RequeueOf string `json:"requeueOf,omitempty"`
}

// Validate checks what every consumer of outcomes relies on.
func (o Outcome) Validate() error {
	switch {
	case o.EventID == "":
		return errors.New("outcome: eventId is empty")
	case o.Subscription == "":
		return errors.New("outcome: subscription is empty")
	case !o.Kind.Valid():
		return fmt.Errorf("outcome: unknown outcome %q", o.Kind)
	case o.At.IsZero():
		return errors.New("outcome: at is not set")
	case o.Attempts < 0:
		return errors.New("outcome: attempts is negative")
	}
	if o.Kind == KindReposted {
		if o.Status != "created" && o.Status != "updated" {
			return fmt.Errorf("outcome: reposted with status %q, want created or updated", o.Status)
		}
		if o.MarketoID == 0 {
			return errors.New("outcome: reposted without a marketoId")
		}
	}
	return nil
}
