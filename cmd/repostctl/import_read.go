package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/leadops/repost"
)

// importRow is one event ready to publish.
type importRow struct {
	line int
	id   string
	sub  string
	data []byte
}

// badRow is a row that is skipped, and why.
type badRow struct {
	line    int
	endLine int // > line when the problem spans lines (an unterminated quote)
	err     error
}

func (b badRow) String() string {
	if b.endLine > b.line {
		return fmt.Sprintf("lines %d-%d: %v", b.line, b.endLine, b.err)
	}
	return fmt.Sprintf("line %d: %v", b.line, b.err)
}

// importSet is a whole file read and checked: nothing is published before
// every row has been built into an event and validated.
type importSet struct {
	rows  []importRow
	bad   []badRow
	dupes int // rows repeating an earlier row exactly
	read  int // data rows read
	seen  map[string]seenRow
}

type seenRow struct {
	line int
	sum  [32]byte
}

// add validates one built event with repost.DecodeEvent, as the worker will.
func (s *importSet) add(line int, data []byte, buildErr error) {
	s.read++
	if buildErr != nil {
		s.bad = append(s.bad, badRow{line: line, err: buildErr})
		return
	}
	ev, err := repost.DecodeEvent(data, "")
	if err != nil {
		s.bad = append(s.bad, badRow{line: line, err: err})
		return
	}
	sum := sha256.Sum256(data)
	if prev, ok := s.seen[ev.EventID]; ok {
		if prev.sum == sum {
			s.dupes++
			return
		}
		s.bad = append(s.bad, badRow{line: line, err: fmt.Errorf("eventId %q is already used on line %d by a different event", ev.EventID, prev.line)})
		return
	}
	s.seen[ev.EventID] = seenRow{line: line, sum: sum}
	s.rows = append(s.rows, importRow{line: line, id: ev.EventID, sub: ev.Subscription, data: data})
}

// readImport reads CSV or JSON lines (format "", "csv" or "jsonl"; ""
// looks at the first non-space byte: '{' is JSON lines).
func readImport(r io.Reader, format, sub string) (*importSet, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if format == "" {
		format = sniffFormat(br)
	}
	s := &importSet{seen: map[string]seenRow{}}
	if format == "jsonl" {
		return s, readJSONLines(br, s)
	}
	return s, readCSV(br, sub, s)
}

func sniffFormat(br *bufio.Reader) string {
	for n := 1; n <= 4096; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			break
		}
		if bytes.HasPrefix([]byte("\ufeff"), b) {
			continue // part of a byte order mark
		}
		b = bytes.TrimPrefix(b, []byte("\ufeff"))
		if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 {
			if t[0] == '{' {
				return "jsonl"
			}
			return "csv"
		}
		if err != nil {
			break
		}
	}
	return "csv"
}

// readJSONLines reads one §3 event per line; blank lines are skipped.
func readJSONLines(br *bufio.Reader, s *importSet) error {
	line := 0
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			if line == 1 {
				b = bytes.TrimPrefix(b, []byte("\ufeff"))
			}
			if t := bytes.TrimSpace(b); len(t) > 0 {
				s.add(line, t, nil)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
}

// digestID is the eventId of a report row without one: a digest of its
// content, so that importing the same report again publishes nothing new.
func digestID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "dap-" + hex.EncodeToString(h.Sum(nil)[:12])
}
