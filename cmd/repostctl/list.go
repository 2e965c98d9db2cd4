package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadops/repost/policy"
)

// listRow is one line of `parked list`.
type listRow struct {
	Seq          uint64      `json:"seq"`
	Subscription string      `json:"subscription"`
	EventID      string      `json:"eventId"`
	LeadID       string      `json:"leadId"`
	Code         policy.Code `json:"code"`
	Field        string      `json:"field"`
	Attempts     int         `json:"attempts"`
	ParkedAt     time.Time   `json:"parkedAt"`
	Reason       string      `json:"reason"`
}

const listDefaultLimit = 100

func newListCmd(e *env, g *globals) *cobra.Command {
	var ff filterFlags
	c := &cobra.Command{
		Use:   "list",
		Short: "One line per parked lead, oldest first",
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
			// One more than the limit tells whether there is more to see.
			show := f.limit
			if f.limit > 0 {
				f.limit++
			}
			var rows []listRow
			err = scanParked(c.Context(), s.q, f, e.warn, func(en entry) error {
				p := en.P
				rows = append(rows, listRow{Seq: en.Seq, Subscription: p.Subscription, EventID: p.EventID, LeadID: p.LeadID,
					Code: p.Parked.Code, Field: p.Parked.Field, Attempts: p.Parked.Attempts, ParkedAt: p.Parked.ParkedAt,
					Reason: p.Parked.Reason})
				return nil
			})
			if err != nil {
				return err
			}
			if show > 0 && len(rows) > show {
				rows = rows[:show]
				e.warn(fmt.Sprintf("showing the first %d; --limit 0 shows all", show))
			}
			if g.json() {
				if rows == nil {
					rows = []listRow{}
				}
				return writeJSON(e.stdout, rows)
			}
			return printList(e.stdout, rows)
		},
	}
	ff.register(c.Flags(), listDefaultLimit)
	return c
}

func printList(w io.Writer, rows []listRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no parked leads match")
		return err
	}
	t := newTable(w, "SEQ", "SUBSCRIPTION", "EVENT", "LEAD", "CODE", "FIELD", "ATTEMPTS", "PARKED AT", "REASON")
	for _, r := range rows {
		t.row(fmt.Sprint(r.Seq), r.Subscription, r.EventID, dash(r.LeadID), r.Code.String(), dash(r.Field),
			fmt.Sprint(r.Attempts), stamp(r.ParkedAt), clip(r.Reason, 50))
	}
	return t.flush()
}
