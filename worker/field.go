package worker

import (
	"encoding/json"
	"strings"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
)

// fieldOf names the Marketo field a decision is about: the one the message
// names, else, for a type mismatch (1001 names the value, not the field),
// the field of the event's records holding the value the message quotes.
func fieldOf(d policy.Decision, msg string, ev *repost.Event) string {
	if d.Field != "" || d.Code != "1001" {
		return d.Field
	}
	val := quoted(msg)
	if val == "" {
		return ""
	}
	for _, rec := range ev.RequestContent.Input {
		for k, v := range rec {
			if s, ok := v.(string); ok && s == val {
				return k
			}
			if n, ok := v.(json.Number); ok && n.String() == val {
				return k
			}
		}
	}
	return ""
}

// quoted returns the first value between quotes in a Marketo message
// ("Invalid value 'fifty'. Required of type 'integer'" → fifty).
func quoted(msg string) string {
	for _, q := range []string{"'", "\u2018", "\""} {
		i := strings.Index(msg, q)
		if i < 0 {
			continue
		}
		rest := msg[i+len(q):]
		end := q
		if q == "\u2018" {
			end = "\u2019"
		}
		if j := strings.Index(rest, end); j >= 0 {
			return rest[:j]
		}
	}
	return ""
}
