package repost

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/leadops/repost/internal/strictjson"
)

// AppendJSON appends the outcome's JSON, byte for byte what json.Marshal
// writes, without its reflection: the worker encodes one outcome per event.
// The error is json.Marshal's (a time outside years 0-9999).
func (o *Outcome) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"eventId":`...)
	b = strictjson.AppendString(b, o.EventID)
	b = append(b, `,"leadId":`...)
	b = strictjson.AppendString(b, o.LeadID)
	b = append(b, `,"subscription":`...)
	b = strictjson.AppendString(b, o.Subscription)
	b = append(b, `,"outcome":`...)
	b = strictjson.AppendString(b, string(o.Kind))
	b = append(b, `,"code":`...)
	code, err := o.Code.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, code...)
	b = append(b, `,"reason":`...)
	b = strictjson.AppendString(b, o.Reason)
	if o.MarketoID != 0 {
		b = append(b, `,"marketoId":`...)
		b = strconv.AppendInt(b, o.MarketoID, 10)
	}
	if o.Status != "" {
		b = append(b, `,"status":`...)
		b = strictjson.AppendString(b, o.Status)
	}
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(o.Attempts), 10)
	b = append(b, `,"at":`...)
	at, err := o.At.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, at...)
	for _, f := range [...]struct{ key, v string }{{`,"actor":`, o.Actor}, {`,"requeuedAs":`, o.RequeuedAs}, {`,"requeueOf":`, o.RequeueOf}} {
		if f.v != "" {
			b = append(b, f.key...)
			b = strictjson.AppendString(b, f.v)
		}
	}
	return append(b, '}'), nil
}

// reasonCut marks a reason cut to keep its outcome within a size limit.
const reasonCut = "… [cut]"

// AppendJSONWithin is AppendJSON for a server that takes messages of at most
// limit bytes: a reason too long for it is cut (on a character boundary, and
// marked), and o itself is left as it is. The error says when even an empty
// reason would not fit.
func (o *Outcome) AppendJSONWithin(b []byte, limit int) ([]byte, error) {
	start := len(b)
	out, err := o.AppendJSON(b)
	if err != nil || len(out)-start <= limit {
		return out, err
	}
	cut := *o
	fits := func(keep int) bool {
		cut.Reason = cutReason(o.Reason, keep)
		out, err = cut.AppendJSON(out[:start])
		return err == nil && len(out)-start <= limit
	}
	if !fits(0) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("outcome %s: %d bytes without its reason, over the limit of %d", o.EventID, len(out)-start, limit)
	}
	// Escaping makes a byte of the reason take one to six: search for the
	// longest prefix that fits.
	lo, hi := 0, len(o.Reason) // fits(lo), !fits(hi)
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	fits(lo)
	return out, err
}

// cutReason is the first keep bytes of reason, backed up to a character
// boundary, and marked as cut; "" when keep is 0.
func cutReason(reason string, keep int) string {
	if keep <= 0 {
		return ""
	}
	for keep > 0 && !utf8.RuneStart(reason[keep]) {
		keep--
	}
	return reason[:keep] + reasonCut
}
