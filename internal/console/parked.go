package console

import (
	"context"
	"sort"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

// parkedEntry is what the index keeps of one parked lead: enough to group
// and page, nothing of the lead's data.
type parkedEntry struct {
	Seq      uint64
	EventID  string
	LeadID   string
	Code     string
	Field    string
	ParkedAt time.Time
}

// Group is the parked leads of one subscription sharing a code and a field.
type Group struct {
	Code, Field    string
	Count          int
	Oldest, Newest time.Time
	entries        []parkedEntry // by stream sequence
}

// parkedIndex is one subscription's parked leads by group.
type parkedIndex struct {
	Total  int
	Groups []*Group // largest first
}

func (ix *parkedIndex) group(code, field string) *Group {
	for _, g := range ix.Groups {
		if g.Code == code && g.Field == field {
			return g
		}
	}
	return nil
}

// ParkedReader reads parked entries; *queue.Queue implements it.
type ParkedReader interface {
	// ScanParked calls fn for every parked entry of sub, oldest first,
	// until fn returns false or an error; errors are NATS's.
	ScanParked(ctx context.Context, sub string, fn func(queue.StoredMsg) (bool, error)) error
	// GetParked returns the entry at a stream sequence (an error when it
	// was requeued or discarded meanwhile).
	GetParked(ctx context.Context, seq uint64) (queue.StoredMsg, error)
}

var _ ParkedReader = (*queue.Queue)(nil)

// indexParked reads a subscription's parked entries into groups.
func indexParked(ctx context.Context, r ParkedReader, sub string) (*parkedIndex, error) {
	by := map[[2]string]*Group{}
	ix := &parkedIndex{}
	err := r.ScanParked(ctx, sub, func(m queue.StoredMsg) (bool, error) {
		p, err := repost.DecodeParkedLead(m.Data)
		if err != nil {
			return true, nil // not a parked entry repost wrote; repostctl parked list shows it
		}
		e := parkedEntry{Seq: m.Seq, EventID: p.EventID, LeadID: p.LeadID, Code: p.Parked.Code.String(),
			Field: p.Parked.Field, ParkedAt: p.Parked.ParkedAt}
		k := [2]string{e.Code, e.Field}
		g := by[k]
		if g == nil {
			g = &Group{Code: e.Code, Field: e.Field, Oldest: e.ParkedAt}
			by[k] = g
			ix.Groups = append(ix.Groups, g)
		}
		g.Count++
		g.entries = append(g.entries, e)
		if e.ParkedAt.Before(g.Oldest) {
			g.Oldest = e.ParkedAt
		}
		if e.ParkedAt.After(g.Newest) {
			g.Newest = e.ParkedAt
		}
		ix.Total++
		return ctx.Err() == nil, ctx.Err()
	})
	sort.SliceStable(ix.Groups, func(i, j int) bool {
		a, b := ix.Groups[i], ix.Groups[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Field < b.Field
	})
	return ix, err
}
