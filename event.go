package repost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadops/repost/internal/strictjson"
	"github.com/leadops/repost/policy"
)

// MaxEventBytes is the largest event body accepted (CONTRACT §3): 1 MiB.
const MaxEventBytes = 1 << 20

// MaxIDBytes bounds eventId and leadId: the eventId becomes a Nats-Msg-Id
// header and both end up in keys and logs.
const MaxIDBytes = 256

// The two Marketo endpoints a failed post-out can name.
const (
	EndpointSyncLeads = "/rest/v1/leads.json"      // Sync Leads
	EndpointPushLead  = "/rest/v1/leads/push.json" // Push Lead: DAP's "Add to Program" routing
)

// UnknownSubscription is the subscription an event is parked under when its
// own cannot be read.
const UnknownSubscription = "_"

// InvalidEventError is a rule of CONTRACT §3 that an event breaks. Field is the
// JSON path of the offending value ("leadId", "requestContent.input[0]"), or
// empty when the body as a whole is at fault.
type InvalidEventError struct {
	Field  string
	Reason string
}

// Error reads `invalid event: field "leadId": missing`, or
// `invalid event: <reason>` when the body as a whole is at fault.
func (e *InvalidEventError) Error() string {
	if e.Field == "" {
		return "invalid event: " + e.Reason
	}
	return fmt.Sprintf("invalid event: field %q: %s", e.Field, e.Reason)
}

func invalid(field, reason string) *InvalidEventError {
	return &InvalidEventError{Field: truncate(field, 1024), Reason: truncate(reason, 1024)}
}

// asInvalid turns a walker error into an *InvalidEventError.
func asInvalid(err error) error {
	var pe *strictjson.PathError
	if errors.As(err, &pe) {
		return invalid(pe.Path, pe.Reason)
	}
	return invalid("", err.Error())
}

// Event is one failed post-out (CONTRACT §3), as DAP sent it.
type Event struct {
	EventID      string
	LeadID       string
	SourceID     string
	Subscription string
	Endpoint     string
	// RequestContent is the Marketo request body DAP sent, kept exactly.
	RequestContent RequestContent
	// ResponseStatusCode is the HTTP status or Marketo code DAP logged; empty
	// when the event has none.
	ResponseStatusCode policy.Code
	ResponseReason     string
	// Response is DAP's response envelope, compacted but otherwise verbatim;
	// nil when absent or null. Failure reads it.
	Response    json.RawMessage
	AttemptedAt time.Time
	// RequeueOf is the eventId of the parked lead this event replays, when
	// repostctl requeue sent it (top-level "requeueOf", a non-empty string);
	// "" for DAP's events. Its outcome carries it.
	RequeueOf string
	// Extra holds top-level keys this version does not know, compacted, so
	// that a re-encoded event loses nothing DAP sent.
	Extra map[string]json.RawMessage

	// src is the body DecodeEvent read, for parking it without reading it
	// again; zero for an event built otherwise.
	src source
}

// source is the body an event was decoded from, and where a parked block
// goes in it (after its last member), or 0 when it must be wrapped instead
// (it has a key a parked entry adds).
type source struct {
	body   []byte
	parkAt int
}

// eventFields decodes each known top-level key; the error is a reason.
var eventFields = map[string]func(e *Event, raw json.RawMessage) error{
	"eventId":      func(e *Event, raw json.RawMessage) error { return decodeString(raw, &e.EventID) },
	"leadId":       func(e *Event, raw json.RawMessage) error { return decodeString(raw, &e.LeadID) },
	"sourceId":     func(e *Event, raw json.RawMessage) error { return decodeString(raw, &e.SourceID) },
	"subscription": func(e *Event, raw json.RawMessage) error { return decodeString(raw, &e.Subscription) },
	"endpoint":     func(e *Event, raw json.RawMessage) error { return decodeString(raw, &e.Endpoint) },
	"responseReason": func(e *Event, raw json.RawMessage) error {
		return decodeString(raw, &e.ResponseReason)
	},
	"requestContent": func(e *Event, raw json.RawMessage) error { return e.RequestContent.UnmarshalJSON(raw) },
	"responseStatusCode": func(e *Event, raw json.RawMessage) error {
		c, err := decodeStatusCode(raw)
		e.ResponseStatusCode = c
		return err
	},
	"response": func(e *Event, raw json.RawMessage) error {
		switch k := strictjson.Kind(raw); k {
		case "null":
			return nil
		case "object", "string":
			e.Response = strictjson.Compact(raw)
			return nil
		default:
			return fmt.Errorf("must be an object, got %s", k)
		}
	},
	"attemptedAt": func(e *Event, raw json.RawMessage) error {
		switch k := strictjson.Kind(raw); k {
		case "null":
			return nil
		case "string":
			if err := e.AttemptedAt.UnmarshalJSON(raw); err != nil {
				return errors.New("must be an RFC 3339 time")
			}
			return nil
		default:
			return fmt.Errorf("must be an RFC 3339 time string, got %s", k)
		}
	},
}

// DecodeEvent decodes and checks one failed post-out event (CONTRACT §3).
// subjectSubscription is the last token of the subject it arrived on; when
// not empty, the event's subscription must equal it. Every rule broken is an
// *InvalidEventError.
func DecodeEvent(data []byte, subjectSubscription string) (*Event, error) {
	if len(data) > MaxEventBytes {
		return nil, invalid("", fmt.Sprintf("body is %d bytes, over the limit of %d", len(data), MaxEventBytes))
	}
	if !utf8.Valid(data) {
		return nil, invalid("", "body is not valid UTF-8")
	}
	data = bytes.Clone(data)                         // the event keeps parts of it
	t := strictjson.Trust(strictjson.Plain(data, 0)) // then its parts need no second check
	members, err := t.Members(data, "")
	if err != nil {
		return nil, asInvalid(err)
	}
	e := &Event{}
	for _, m := range members {
		if m.Key == "requestContent" {
			if err := e.RequestContent.unmarshal(m.Value, t); err != nil {
				var ie *InvalidEventError
				if errors.As(err, &ie) {
					return nil, ie
				}
				return nil, invalid(m.Key, err.Error())
			}
			continue
		}
		if m.Key == keyRequeueOf {
			if s, ok := strictjson.Unquote(m.Value); ok && s != "" {
				e.RequeueOf = s
				continue
			} // anything else is kept as an unknown key, as before it was known
		}
		decode, known := eventFields[m.Key]
		if !known {
			if e.Extra == nil {
				e.Extra = make(map[string]json.RawMessage)
			}
			e.Extra[m.Key] = strictjson.Compact(m.Value)
			continue
		}
		if err := decode(e, m.Value); err != nil {
			var ie *InvalidEventError
			if errors.As(err, &ie) {
				return nil, ie
			}
			return nil, invalid(m.Key, err.Error())
		}
	}
	if err := e.validate(members, subjectSubscription); err != nil {
		return nil, err
	}
	e.src = source{body: data, parkAt: parkAt(members)}
	return e, nil
}

// keyRequeueOf is the top-level key repostctl requeue adds to an event.
const keyRequeueOf = "requeueOf"

// IsRequeue reports whether a human sent the event back (repostctl
// requeue): its original failure was already acted on.
func (e *Event) IsRequeue() bool { return e.RequeueOf != "" }

// UnmarshalJSON decodes with DecodeEvent, without a subject to match.
func (e *Event) UnmarshalJSON(data []byte) error {
	got, err := DecodeEvent(data, "")
	if err != nil {
		return err
	}
	*e = *got
	return nil
}

func (e *Event) validate(members []strictjson.Member, subjectSubscription string) error {
	for _, key := range requiredKeys {
		if !hasMember(members, key) {
			return invalid(key, "missing")
		}
	}
	if err := checkID("eventId", e.EventID); err != nil {
		return err
	}
	if err := checkID("leadId", e.LeadID); err != nil {
		return err
	}
	if reason := subscriptionProblem(e.Subscription); reason != "" {
		return invalid("subscription", reason)
	}
	if subjectSubscription != "" && e.Subscription != subjectSubscription {
		return invalid("subscription", fmt.Sprintf("%q does not match the subject's %q", e.Subscription, subjectSubscription))
	}
	switch e.Endpoint {
	case EndpointSyncLeads:
	case EndpointPushLead:
		if e.RequestContent.ProgramName() == "" {
			return invalid("requestContent.programName", "missing (Push Lead requires it)")
		}
	case "":
		return invalid("endpoint", "must not be empty")
	default:
		return invalid("endpoint", fmt.Sprintf("%q is neither %s nor %s", truncate(e.Endpoint, 80), EndpointSyncLeads, EndpointPushLead))
	}
	return nil
}

var requiredKeys = []string{"eventId", "leadId", "subscription", "endpoint", "requestContent"}

func hasMember(members []strictjson.Member, key string) bool {
	for _, m := range members {
		if m.Key == key {
			return true
		}
	}
	return false
}

func checkID(field, s string) error {
	if reason := idProblem(s); reason != "" {
		return invalid(field, reason)
	}
	return nil
}

func idProblem(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > MaxIDBytes:
		return fmt.Sprintf("longer than %d bytes", MaxIDBytes)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// subscriptionProblem keeps subscriptions usable as one NATS subject token.
func subscriptionProblem(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case s == UnknownSubscription:
		return fmt.Sprintf("%q is reserved for unreadable events", s)
	case len(s) > 128:
		return "longer than 128 bytes"
	case strings.IndexFunc(s, func(r rune) bool {
		return r == '.' || r == '*' || r == '>' || unicode.IsSpace(r) || unicode.IsControl(r)
	}) >= 0:
		return "must not contain '.', '*', '>', spaces or control characters (it is a subject token)"
	}
	return ""
}

// decodeString accepts a string or null (left empty).
func decodeString(raw json.RawMessage, dst *string) error {
	switch k := strictjson.Kind(raw); k {
	case "string":
		s, ok := strictjson.Interned(raw) // an endpoint is shared, not copied
		if !ok {
			return json.Unmarshal(raw, dst) // names the error
		}
		*dst = s
		return nil
	case "null":
		return nil
	default:
		return fmt.Errorf("must be a string, got %s", k)
	}
}

// decodeStatusCode accepts a number or a quoted number from 0 to 99999;
// null and "" mean none.
func decodeStatusCode(raw json.RawMessage) (policy.Code, error) {
	var text string
	switch k := strictjson.Kind(raw); k {
	case "null":
		return "", nil
	case "string":
		s, ok := strictjson.Unquote(raw)
		if !ok {
			return "", errors.New("must be a JSON string")
		}
		if text = s; strings.TrimSpace(text) == "" {
			return "", nil
		}
	case "number":
		text = string(bytes.TrimSpace(raw))
	default:
		return "", fmt.Errorf("must be a number, got %s", k)
	}
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || n < 0 || n > 99999 {
		return "", fmt.Errorf("%s is not a status code (an integer from 0 to 99999)", truncate(text, 40))
	}
	return policy.CodeOf(n), nil
}

// MarshalJSON writes the known keys in the order of CONTRACT §3, then the
// unknown ones sorted, so that DecodeEvent gives back an equal Event. Like
// all of encoding/json it escapes <, > and &, so an encoding can be longer
// than the body it was decoded from (by at most 5 bytes per such character).
func (e Event) MarshalJSON() ([]byte, error) {
	w := strictjson.NewObjectWriter()
	w.Value("eventId", e.EventID)
	w.Value("leadId", e.LeadID)
	if e.SourceID != "" {
		w.Value("sourceId", e.SourceID)
	}
	w.Value("subscription", e.Subscription)
	w.Value("endpoint", e.Endpoint)
	w.Value("requestContent", e.RequestContent)
	if e.ResponseStatusCode != "" {
		w.Value("responseStatusCode", e.ResponseStatusCode)
	}
	if e.ResponseReason != "" {
		w.Value("responseReason", e.ResponseReason)
	}
	if len(e.Response) > 0 {
		w.Raw("response", e.Response)
	}
	if !e.AttemptedAt.IsZero() {
		w.Value("attemptedAt", e.AttemptedAt)
	}
	var skip map[string]bool
	if e.RequeueOf != "" {
		w.Value(keyRequeueOf, e.RequeueOf)
		skip = map[string]bool{keyRequeueOf: true}
	}
	w.RawMap(e.Extra, skip)
	return w.Close()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
