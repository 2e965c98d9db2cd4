package marketotest

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

const firstLeadID = 1000000

type lead struct {
	id        int64
	partition string
	fields    map[string]any
	createdAt time.Time
	updatedAt time.Time
	programs  map[string]membership
}

type membership struct {
	status, source, reason string
	step                   int
}

// store holds the leads, with an index per lookup field built on first use.
type store struct {
	all    []*lead // by id
	byID   map[int64]*lead
	index  map[string]map[string][]*lead // field → normalized value → leads
	nextID int64
}

func newStore() *store {
	return &store{byID: map[int64]*lead{}, index: map[string]map[string][]*lead{}, nextID: firstLeadID}
}

func (st *store) find(field, key string) []*lead {
	if key == "" {
		return nil
	}
	if field == "id" {
		n, err := strconv.ParseInt(key, 10, 64)
		if l, ok := st.byID[n]; err == nil && ok {
			return []*lead{l}
		}
		return nil
	}
	idx, ok := st.index[field]
	if !ok {
		idx = map[string][]*lead{}
		for _, l := range st.all {
			if k := normalize(l.fields[field]); k != "" {
				idx[k] = append(idx[k], l)
			}
		}
		st.index[field] = idx
	}
	return idx[key]
}

func (st *store) create(partition string, vals map[string]any, now time.Time) *lead {
	l := &lead{id: st.nextID, partition: partition, fields: map[string]any{}, createdAt: now, updatedAt: now}
	st.nextID++
	st.all = append(st.all, l)
	st.byID[l.id] = l
	st.update(l, vals, now)
	return l
}

func (st *store) update(l *lead, vals map[string]any, now time.Time) {
	for k, v := range vals {
		if idx, ok := st.index[k]; ok {
			old, nw := normalize(l.fields[k]), normalize(v)
			if old != nw {
				idx[old] = removeLead(idx[old], l)
				if nw != "" {
					idx[nw] = append(idx[nw], l)
				}
			}
		}
		l.fields[k] = v
	}
	l.updatedAt = now
}

func removeLead(ls []*lead, l *lead) []*lead {
	for i, x := range ls {
		if x == l {
			return append(ls[:i], ls[i+1:]...)
		}
	}
	return ls
}

func (l *lead) export() map[string]any {
	m := maps.Clone(l.fields)
	m["id"] = l.id
	m["createdAt"] = l.createdAt.UTC().Format(time.RFC3339)
	m["updatedAt"] = l.updatedAt.UTC().Format(time.RFC3339)
	return m
}

// LeadCount returns the number of leads.
func (s *Sim) LeadCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.store.all)
}

// Lead returns a copy of the first lead (lowest id) whose lookupField matches
// value as Marketo compares lookups (case and surrounding spaces ignored).
// Besides its fields, the copy has "id" (int64), "createdAt" and "updatedAt".
// Field values are typed by the schema: string, int64, float64, bool, nil;
// dates are "2006-01-02" strings, datetimes RFC 3339.
func (s *Sim) Lead(lookupField, value string) (map[string]any, bool) {
	ls := s.LeadsBy(lookupField, value)
	if len(ls) == 0 {
		return nil, false
	}
	return ls[0], true
}

// LeadsBy returns copies of every lead matching value, by increasing id:
// more than one when concurrent calls created duplicates.
func (s *Sim) LeadsBy(lookupField, value string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := slices.Clone(s.store.find(lookupField, normalize(value)))
	slices.SortFunc(ls, func(a, b *lead) int { return cmp.Compare(a.id, b.id) })
	var out []map[string]any
	for _, l := range ls {
		out = append(out, l.export())
	}
	return out
}

// Leads returns copies of every lead, by increasing id.
func (s *Sim) Leads() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, len(s.store.all))
	for i, l := range s.store.all {
		out[i] = l.export()
	}
	return out
}

// Membership returns the lead's status in a program, if it is a member.
func (s *Sim) Membership(leadID int64, program string) (status string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, found := s.store.byID[leadID]
	if !found {
		return "", false
	}
	m, ok := l.programs[program]
	return m.status, ok
}

// AddLead stores a lead directly (no call, no limits), in the default
// partition. Values are checked against the schema as a call's would be.
func (s *Sim) AddLead(fields map[string]any) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vals := make(map[string]any, len(fields))
	for k, v := range fields {
		t, ok := s.opts.Schema[k]
		if !ok {
			return 0, fmt.Errorf("marketotest: add lead: field %q not in schema", k)
		}
		c, ok := coerce(t, toJSONish(v))
		if !ok {
			return 0, fmt.Errorf("marketotest: add lead: field %q: %v is not of type %s", k, v, t)
		}
		vals[k] = c
	}
	return s.store.create(DefaultPartition, vals, s.opts.Now()).id, nil
}

// toJSONish turns Go numbers into the values a JSON decoder would give.
func toJSONish(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// ResetLeads deletes every lead; ids continue to increase.
func (s *Sim) ResetLeads() {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.store.nextID
	s.store = newStore()
	s.store.nextID = next
}
