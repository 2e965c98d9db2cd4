package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadops/repost/policy"
)

// group is one line of `parked summary`.
type group struct {
	Subscription  string      `json:"subscription"`
	Code          policy.Code `json:"code"`
	Field         string      `json:"field"`
	Count         int         `json:"count"`
	Oldest        time.Time   `json:"oldest"`
	Newest        time.Time   `json:"newest"`
	ExampleReason string      `json:"exampleReason"`
}

func newSummaryCmd(e *env, g *globals) *cobra.Command {
	var ff filterFlags
	c := &cobra.Command{
		Use:   "summary",
		Short: "Parked leads counted by subscription × code × field, largest first",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := ff.parse(e.now())
			if err != nil {
				return err
			}
			s, err := openSession(c.Context(), e, g)
			if err != nil {
				return err
			}
			defer s.close()
			byKey := map[[3]string]*group{}
			// The limit is counted here, so that a cut total is told.
			limit, counted, cut := f.limit, 0, false
			f.limit = 0
			err = scanParked(c.Context(), s.q, f, e.warn, func(en entry) error {
				if limit > 0 && counted == limit {
					cut = true
					return errStop
				}
				counted++
				p := en.P
				k := [3]string{p.Subscription, string(p.Parked.Code), p.Parked.Field}
				gr := byKey[k]
				if gr == nil {
					gr = &group{Subscription: k[0], Code: p.Parked.Code, Field: k[2], ExampleReason: p.Parked.Reason}
					byKey[k] = gr
				}
				gr.add(p.Parked.ParkedAt)
				return nil
			})
			if err != nil {
				return err
			}
			groups := sortGroups(byKey)
			note := ""
			if cut {
				note = fmt.Sprintf("counted the oldest %s matching leads only (--limit %d): more are parked; the total is cut", thousands(limit), limit)
			}
			if g.json() {
				if note != "" {
					e.warn(note)
				}
				return writeJSON(e.stdout, groups)
			}
			if err := printSummary(e.stdout, groups); err != nil {
				return err
			}
			if note != "" {
				_, err = fmt.Fprintln(e.stdout, note)
			}
			return err
		},
	}
	ff.register(c.Flags(), 0)
	return c
}

func (gr *group) add(at time.Time) {
	gr.Count++
	if gr.Oldest.IsZero() || at.Before(gr.Oldest) {
		gr.Oldest = at
	}
	if at.After(gr.Newest) {
		gr.Newest = at
	}
}

// sortGroups orders largest first, then by subscription, code and field.
func sortGroups(byKey map[[3]string]*group) []group {
	out := make([]group, 0, len(byKey))
	for _, gr := range byKey {
		out = append(out, *gr)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Subscription != b.Subscription {
			return a.Subscription < b.Subscription
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Field < b.Field
	})
	return out
}

func printSummary(w io.Writer, groups []group) error {
	if len(groups) == 0 {
		_, err := fmt.Fprintln(w, "no parked leads")
		return err
	}
	t := newTable(w, "SUBSCRIPTION", "CODE", "FIELD", "COUNT", "OLDEST", "NEWEST", "EXAMPLE REASON")
	total := 0
	for _, gr := range groups {
		total += gr.Count
		t.row(gr.Subscription, gr.Code.String(), dash(gr.Field), thousands(gr.Count),
			stamp(gr.Oldest), stamp(gr.Newest), clip(gr.ExampleReason, 60))
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s parked %s in %d %s\n", thousands(total), plural(total, "lead"), len(groups), plural(len(groups), "group"))
	return err
}

// warn prints a note on stderr.
func (e *env) warn(msg string) { fmt.Fprintln(e.stderr, "repostctl:", msg) }

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
