package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

func newShowCmd(e *env, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "One parked lead (ID is its eventId or stream sequence): event, parked block, request and response",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := openSession(c.Context(), e, g)
			if err != nil {
				return err
			}
			defer s.close()
			en, raw, err := findParked(c.Context(), s.q, args[0])
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(e.stdout, struct {
					Seq   uint64          `json:"seq"`
					Entry json.RawMessage `json:"entry"`
				}{en.Seq, raw})
			}
			return printShow(e.stdout, en)
		},
	}
}

// errNotParked: no parked entry has the ID.
var errNotParked = errors.New("no parked lead with this eventId or sequence")

// findParked finds an entry by stream sequence, else by eventId.
func findParked(ctx context.Context, q *queue.Queue, id string) (entry, []byte, error) {
	if seq, err := strconv.ParseUint(id, 10, 64); err == nil {
		m, err := q.GetParked(ctx, seq)
		switch {
		case err == nil:
			p, err := repost.DecodeParkedLead(m.Data)
			if err != nil {
				return entry{}, nil, fmt.Errorf("parked entry %d: %w", seq, err)
			}
			return entry{Seq: seq, P: p}, m.Data, attachBody(ctx, q, p)
		case !isNotFound(err):
			return entry{}, nil, err
		}
	}
	var found entry
	var raw []byte
	err := q.ScanParked(ctx, "", func(m queue.StoredMsg) (bool, error) {
		if repost.PeekEventID(m.Data) != id && !bytes.Contains(m.Data, []byte(strconv.Quote(id))) {
			return true, nil
		}
		p, err := repost.DecodeParkedLead(m.Data)
		if err != nil || p.EventID != id {
			return true, nil
		}
		found, raw = entry{Seq: m.Seq, P: p}, m.Data
		return false, nil
	})
	if err != nil {
		return entry{}, nil, err
	}
	if found.P == nil {
		return entry{}, nil, fmt.Errorf("%q: %w", id, errNotParked)
	}
	return found, raw, attachBody(ctx, q, found.P)
}

func printShow(w io.Writer, en entry) error {
	p := en.P
	t := newTable(w, "seq:", fmt.Sprint(en.Seq))
	t.row("eventId:", p.EventID)
	t.row("leadId:", dash(p.LeadID))
	t.row("subscription:", p.Subscription)
	t.row("code:", p.Parked.Code.String())
	t.row("field:", dash(p.Parked.Field))
	t.row("attempts:", fmt.Sprint(p.Parked.Attempts))
	t.row("parkedAt:", stamp(p.Parked.ParkedAt))
	t.row("reason:", p.Parked.Reason)
	if p.Parked.BodyRef != "" {
		t.row("body:", fmt.Sprintf("%s in %s (%d bytes)", p.Parked.BodyRef, queue.BucketBodies, p.Parked.BodyBytes))
	}
	if len(p.Parked.Trimmed) > 0 {
		t.row("trimmed:", strings.Join(p.Parked.Trimmed, "; "))
	}
	if p.EventErr != nil {
		t.row("invalid:", p.EventErr.Error())
	}
	if err := t.flush(); err != nil {
		return err
	}
	sections := []struct {
		title string
		body  []byte
	}{
		{"event", p.Original},
		{"last request", p.Parked.LastRequest},
		{"last response", p.Parked.LastResponse},
	}
	for _, sec := range sections {
		fmt.Fprintf(w, "\n%s:\n", sec.title)
		if len(sec.body) == 0 {
			fmt.Fprintln(w, "  (none)")
			continue
		}
		fmt.Fprintln(w, indentJSON(sec.body, "  "))
	}
	return nil
}

// indentJSON pretty-prints JSON, or returns the text as it is when it is not JSON.
func indentJSON(b []byte, prefix string) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, prefix, "  "); err != nil {
		return prefix + string(b)
	}
	return prefix + out.String()
}

// isNotFound: the stream has no message at that sequence (any more).
func isNotFound(err error) bool { return errors.Is(err, jetstream.ErrMsgNotFound) }
