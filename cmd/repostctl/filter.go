package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
)

// filterFlags are the selection flags of list, requeue and discard.
type filterFlags struct {
	subscription string
	codes        []string
	field        string
	lead         string
	since        string
	limit        int
}

func (f *filterFlags) register(fs *pflag.FlagSet, limitDefault int) {
	fs.StringVar(&f.subscription, "subscription", "", "only this subscription (Munchkin ID)")
	fs.StringSliceVar(&f.codes, "code", nil, "only these codes (1006, retries-exhausted, ...; repeat or comma-separate)")
	fs.StringVar(&f.field, "field", "", "only leads parked on this Marketo field")
	fs.StringVar(&f.lead, "lead", "", "only this leadId")
	fs.StringVar(&f.since, "since", "", "only leads parked since then: a duration back from now (2h, 30m) or an RFC 3339 time")
	fs.IntVar(&f.limit, "limit", limitDefault, "at most this many leads (0: no limit)")
}

// filter is a parsed selection of parked leads.
type filter struct {
	sub   string
	codes map[policy.Code]bool
	field string
	lead  string
	since time.Time
	limit int
}

// parse checks the flags; every error is a usage error.
func (f filterFlags) parse(now time.Time) (filter, error) {
	out := filter{sub: f.subscription, field: f.field, lead: f.lead, limit: f.limit}
	if f.limit < 0 {
		return out, usagef("--limit must not be negative")
	}
	if f.subscription != "" && !queue.ValidToken(f.subscription) {
		return out, usagef("--subscription %q cannot be a subscription (no dots, spaces or wildcards)", f.subscription)
	}
	for _, s := range f.codes {
		c, err := policy.ParseCode(strings.TrimSpace(s))
		if err != nil {
			return out, usagef("--code %q: %v", s, err)
		}
		if out.codes == nil {
			out.codes = map[policy.Code]bool{}
		}
		out.codes[c] = true
	}
	if f.since != "" {
		t, err := parseSince(f.since, now)
		if err != nil {
			return out, err
		}
		out.since = t
	}
	return out, nil
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, usagef("--since %q: the duration must not be negative", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--since %q is neither a duration (2h, 30m) nor an RFC 3339 time", s)
}

// narrows reports whether any filter (other than --limit) was given:
// requeue and discard refuse to touch everything by accident.
func (f filter) narrows() bool {
	return f.sub != "" || len(f.codes) > 0 || f.field != "" || f.lead != "" || !f.since.IsZero()
}

func (f filter) match(p *repost.ParkedLead) bool {
	switch {
	case f.sub != "" && p.Subscription != f.sub:
		return false
	case len(f.codes) > 0 && !f.codes[p.Parked.Code]:
		return false
	case f.field != "" && !strings.EqualFold(p.Parked.Field, f.field):
		return false
	case f.lead != "" && p.LeadID != f.lead:
		return false
	case !f.since.IsZero() && p.Parked.ParkedAt.Before(f.since):
		return false
	}
	return true
}

// entry is one parked lead and where it is in the stream.
type entry struct {
	Seq    uint64
	P      *repost.ParkedLead
	DataAt time.Time // the original's data time (queue.HeaderDataTime), when read by fetchEntries
}

// errStop ends a scan early without an error.
var errStop = errors.New("stop")

// scanParked calls fn for each parked lead that matches, oldest first, up
// to the filter's limit. Entries that cannot be read are reported on warn
// and skipped.
func scanParked(ctx context.Context, q *queue.Queue, f filter, warn func(string), fn func(entry) error) error {
	n := 0
	err := q.ScanParked(ctx, f.sub, func(m queue.StoredMsg) (bool, error) {
		p, err := decodeHead(m.Data)
		if err != nil {
			warn(fmt.Sprintf("parked entry %d cannot be read: %v", m.Seq, err))
			return true, nil
		}
		if !f.match(p) {
			return true, nil
		}
		if f.limit > 0 && n >= f.limit {
			return false, nil
		}
		n++
		if err := fn(entry{Seq: m.Seq, P: p}); err != nil {
			return false, err
		}
		return true, ctx.Err()
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}
