package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/config"
)

// page is what every template gets.
type page struct {
	Title    string
	Refresh  int // seconds
	Now      time.Time
	Status   Status
	Stale    string // why the figures are not fresh, or ""
	Commands []string
	Sub      *SubStatus
	Chart    template.HTML
	Quota    template.HTML
	Index    *parkedIndex
	Group    *Group
	Leads    []leadView
	PageNo   int
	Pages    int
	Cut      bool
	LeadData bool
}

func (c *Console) base(ctx context.Context, title string) page {
	st, ok, err := c.snap.get(ctx, 5*time.Second)
	p := page{Title: title, Refresh: int(c.cfg.Refresh / time.Second), Now: c.cfg.Now(), Status: st, LeadData: c.cfg.ShowLeadData}
	if err != nil {
		p.Stale = "status not collected: " + err.Error()
		if ok {
			p.Stale += " (figures of " + st.At.UTC().Format(time.TimeOnly) + " UTC)"
		}
	}
	return p
}

func (c *Console) render(w http.ResponseWriter, name string, p page) {
	var b bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&b, name, p); err != nil {
		c.log.Error("console: render", zap.String("page", name), zap.Error(err))
		http.Error(w, "console: cannot render this page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	p := c.base(r.Context(), "repost")
	p.Commands = []string{"repostctl status --watch", "repostctl parked summary"}
	c.render(w, "overview.html", p)
}

// lookup finds a configured subscription's row; ok false answers 404.
func (c *Console) lookup(w http.ResponseWriter, r *http.Request) (page, *SubStatus, bool) {
	id := r.PathValue("id")
	if !config.MunchkinID.MatchString(id) {
		http.Error(w, "not a subscription ID", http.StatusNotFound)
		return page{}, nil, false
	}
	p := c.base(r.Context(), id)
	for i := range p.Status.Subs {
		if p.Status.Subs[i].ID == id {
			return p, &p.Status.Subs[i], true
		}
	}
	http.Error(w, "subscription "+id+" is not configured", http.StatusNotFound)
	return page{}, nil, false
}

func (c *Console) subscription(w http.ResponseWriter, r *http.Request) {
	p, row, ok := c.lookup(w, r)
	if !ok {
		return
	}
	p.Sub = row
	limit := 0
	if row.Limits != nil {
		limit = row.Limits.WindowLimit
		p.Quota = quotaBar(row.Limits.QuotaUsed, row.Limits.QuotaLimit)
	}
	for _, s := range c.cfg.Subs {
		if s.ID == row.ID && limit == 0 {
			limit = s.Limits.CallsPerWindow
		}
	}
	p.Chart = callsChart(c.hist.of(row.ID), limit, c.cfg.Span, p.Now)
	ix, err := c.parkedOf(r.Context(), row.ID)
	if err != nil {
		p.Stale = join(p.Stale, "parked entries not read: "+err.Error())
	}
	p.Index = ix
	p.Commands = []string{
		"repostctl status " + row.ID,
		"repostctl limits " + row.ID,
		"repostctl parked summary --subscription " + row.ID,
		"repostctl subscription pause " + row.ID + " --reason TEXT",
		"repostctl subscription resume " + row.ID,
	}
	c.render(w, "subscription.html", p)
}

// parkedOf returns a subscription's parked index, read at most once per
// Config.ParkedEvery for every viewer.
func (c *Console) parkedOf(ctx context.Context, sub string) (*parkedIndex, error) {
	c.mu.Lock()
	pc := c.parked[sub]
	if pc == nil {
		pc = &cached[*parkedIndex]{every: c.cfg.ParkedEvery, now: c.cfg.Now,
			collect: func(ctx context.Context) (*parkedIndex, error) { return indexParked(ctx, c.q, sub) }}
		c.parked[sub] = pc
	}
	c.mu.Unlock()
	ix, ok, err := pc.get(ctx, 20*time.Second)
	if !ok {
		ix = &parkedIndex{}
	}
	return ix, err
}

// leadView is one parked lead as the group page shows it.
type leadView struct {
	Seq                       uint64
	EventID, LeadID, Endpoint string
	Parked                    repost.ParkInfo
	Fields                    []string // the record's field names, values hidden
	Data                      string   // the record, lastRequest and lastResponse, indented: only with ShowLeadData
	Gone                      bool     // requeued or discarded since the index was read
	Story                     *Story
}

func (c *Console) group(w http.ResponseWriter, r *http.Request) {
	p, row, ok := c.lookup(w, r)
	if !ok {
		return
	}
	p.Sub = row
	code, field := r.URL.Query().Get("code"), r.URL.Query().Get("field")
	ix, err := c.parkedOf(r.Context(), row.ID)
	if err != nil {
		p.Stale = join(p.Stale, "parked entries not read: "+err.Error())
	}
	p.Group = ix.group(code, field)
	p.Title = row.ID + " · parked " + code
	sel := "--subscription " + row.ID + " --code " + code
	if field != "" {
		sel += " --field " + field
	}
	p.Commands = []string{"repostctl parked list " + sel, "repostctl parked requeue " + sel + " --dry-run",
		"repostctl parked discard " + sel + " --reason TEXT"}
	if p.Group == nil {
		c.render(w, "group.html", p) // says the group is empty now
		return
	}
	n := len(p.Group.entries)
	p.Pages = max(1, (n+c.cfg.PageSize-1)/c.cfg.PageSize)
	p.PageNo, _ = strconv.Atoi(r.URL.Query().Get("page"))
	p.PageNo = min(max(1, p.PageNo), p.Pages)
	from := (p.PageNo - 1) * c.cfg.PageSize
	p.Leads, p.Cut = c.leads(r.Context(), row.ID, p.Group.entries[from:min(n, from+c.cfg.PageSize)])
	if len(p.Leads) > 0 {
		p.Commands = append(p.Commands, "repostctl parked show "+p.Leads[0].EventID, "repostctl trace "+p.Leads[0].EventID)
	}
	c.render(w, "group.html", p)
}

// leads reads one page of parked entries and their stories.
func (c *Console) leads(ctx context.Context, sub string, page []parkedEntry) ([]leadView, bool) {
	out := make([]leadView, 0, len(page))
	roots := map[string]bool{}
	since := time.Time{}
	for _, e := range page {
		lv := leadView{Seq: e.Seq, EventID: e.EventID, LeadID: e.LeadID}
		m, err := c.q.GetParked(ctx, e.Seq)
		p, derr := repost.DecodeParkedLead(m.Data)
		if err != nil || derr != nil {
			lv.Gone = true
			out = append(out, lv)
			continue
		}
		lv.Parked = p.Parked
		if p.Event != nil {
			lv.Endpoint = p.Event.Endpoint
			lv.Fields = fieldNames(p.Event)
			if t := p.Event.AttemptedAt; !t.IsZero() && (since.IsZero() || t.Before(since)) {
				since = t
			}
		}
		if c.cfg.ShowLeadData {
			lv.Data = leadData(p)
		}
		lv.Parked.LastRequest, lv.Parked.LastResponse = nil, nil // never rendered from here
		roots[rootID(e.EventID)] = true
		out = append(out, lv)
	}
	if !since.IsZero() {
		since = since.Add(-time.Minute)
	}
	c.mu.Lock() // one story reading at a time, whatever the number of viewers
	defer c.mu.Unlock()
	st, cut, err := stories(ctx, c.q.JS, c.q.Subjects, sub, roots, since)
	if err != nil {
		c.log.Warn("console: stories", zap.String("subscription", sub), zap.Error(err))
	}
	for i := range out {
		out[i].Story = st[rootID(out[i].EventID)]
	}
	return out, cut
}

// fieldNames lists the record's fields, sorted, without their values.
func fieldNames(ev *repost.Event) []string {
	seen := map[string]bool{}
	var names []string
	for _, rec := range ev.RequestContent.Input {
		for k := range rec {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	sort.Strings(names)
	return names
}

// leadData renders the lead's data: the event's request, the last request
// and response. Only with ShowLeadData.
func leadData(p *repost.ParkedLead) string {
	var b bytes.Buffer
	write := func(title string, raw []byte) {
		if len(raw) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		if json.Indent(&b, raw, "  ", "  ") != nil {
			b.Write(raw)
		}
		b.WriteString("\n")
	}
	write("event", p.Original)
	write("lastRequest", p.Parked.LastRequest)
	write("lastResponse", p.Parked.LastResponse)
	return b.String()
}
