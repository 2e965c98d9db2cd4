package repost

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the outcome's JSON, byte for byte what json.Marshal
// writes, without its reflection: the worker encodes one outcome per event.
// The error is json.Marshal's (a time outside years 0-9999).
func (o *Outcome) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"eventId":`...)
	b = appendString(b, o.EventID)
	b = append(b, `,"leadId":`...)
	b = appendString(b, o.LeadID)
	b = append(b, `,"subscription":`...)
	b = appendString(b, o.Subscription)
	b = append(b, `,"outcome":`...)
	b = appendString(b, string(o.Kind))
	b = append(b, `,"code":`...)
	code, err := o.Code.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, code...)
	b = append(b, `,"reason":`...)
	b = appendString(b, o.Reason)
	if o.MarketoID != 0 {
		b = append(b, `,"marketoId":`...)
		b = strconv.AppendInt(b, o.MarketoID, 10)
	}
	if o.Status != "" {
		b = append(b, `,"status":`...)
		b = appendString(b, o.Status)
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
			b = appendString(b, f.v)
		}
	}
	return append(b, '}'), nil
}

// appendString writes s as encoding/json does: HTML-safe, U+2028 and
// U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
