package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/leadops/repost"
)

// Columns of DAP's Post Out Log Report, by normalized name (lower case, no
// spaces, underscores or dashes).
const (
	colLeadID         = "leadid"
	colRequestContent = "requestcontent"
	colStatusCode     = "responsestatuscode"
	colReason         = "responsereason"
	colSubscription   = "subscription"
	colEventID        = "eventid"
	colSourceID       = "sourceid"
	colEndpoint       = "endpoint"
	colResponse       = "response"
	colAttemptedAt    = "attemptedat"
)

var requiredColumns = []string{colLeadID, colRequestContent, colStatusCode, colReason}

var knownColumns = map[string]bool{
	colLeadID: true, colRequestContent: true, colStatusCode: true, colReason: true, colSubscription: true,
	colEventID: true, colSourceID: true, colEndpoint: true, colResponse: true, colAttemptedAt: true,
}

// columnAliases are other names DAP exports have used.
var columnAliases = map[string]string{"munchkinid": colSubscription, "requestbody": colRequestContent}

func normalizeColumn(s string) string {
	s = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(s, "\ufeff")))
	s = strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s)
	if a, ok := columnAliases[s]; ok {
		return a
	}
	return s
}

// csvReport maps the report's columns.
type csvReport struct {
	header []string       // as written
	index  map[string]int // normalized name → column
	other  []int          // columns this version does not map
	sub    string         // --subscription
}

// readCSV reads the header, then builds one event per row. Line numbers
// count the header as line 1 and follow quoted fields across lines.
func readCSV(r io.Reader, sub string, s *importSet) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short row is a bad row, not the end of the import
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("the file is empty: want a header row with LeadId, RequestContent, ResponseStatusCode, ResponseReason")
	}
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	rep, err := newCSVReport(header, sub)
	if err != nil {
		return err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			s.read++
			b := badRow{line: pe.StartLine, err: pe.Err}
			if pe.Line > pe.StartLine {
				b.endLine = pe.Line
				b.err = fmt.Errorf("%w (a quoted field not closed: every line up to %d is part of this bad row)", pe.Err, pe.Line)
			}
			s.bad = append(s.bad, b)
			continue
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		data, err := rep.event(rec)
		s.add(line, data, err)
	}
}

func newCSVReport(header []string, sub string) (*csvReport, error) {
	rep := &csvReport{header: header, index: map[string]int{}, sub: sub}
	for i, h := range header {
		n := normalizeColumn(h)
		if _, dup := rep.index[n]; dup && knownColumns[n] {
			return nil, fmt.Errorf("header: column %q appears twice", h)
		}
		rep.index[n] = i
		if !knownColumns[n] && n != "" {
			rep.other = append(rep.other, i)
		}
	}
	var missing []string
	for _, c := range requiredColumns {
		if _, ok := rep.index[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("header: missing required columns %s (want LeadId, RequestContent, ResponseStatusCode, ResponseReason; got %s)",
			strings.Join(missing, ", "), strings.Join(header, ","))
	}
	if _, ok := rep.index[colSubscription]; !ok && sub == "" {
		return nil, usagef("the report has no Subscription column: give --subscription")
	}
	return rep, nil
}

func (rep *csvReport) get(rec []string, col string) string {
	if i, ok := rep.index[col]; ok && i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// csvEvent is a §3 event built from a report row, keys in §3's order.
type csvEvent struct {
	EventID            string            `json:"eventId"`
	LeadID             string            `json:"leadId"`
	SourceID           string            `json:"sourceId,omitempty"`
	Subscription       string            `json:"subscription"`
	Endpoint           string            `json:"endpoint"`
	RequestContent     json.RawMessage   `json:"requestContent"`
	ResponseStatusCode string            `json:"responseStatusCode,omitempty"`
	ResponseReason     string            `json:"responseReason,omitempty"`
	Response           json.RawMessage   `json:"response,omitempty"`
	AttemptedAt        string            `json:"attemptedAt,omitempty"`
	ReportColumns      map[string]string `json:"reportColumns,omitempty"`
}

// event builds the event of one row; DecodeEvent validates it afterwards.
func (rep *csvReport) event(rec []string) ([]byte, error) {
	if len(rec) != len(rep.header) {
		return nil, fmt.Errorf("%d fields, the header has %d", len(rec), len(rep.header))
	}
	ev := csvEvent{LeadID: rep.get(rec, colLeadID), SourceID: rep.get(rec, colSourceID),
		Subscription: rep.get(rec, colSubscription), Endpoint: rep.get(rec, colEndpoint),
		ResponseStatusCode: rep.get(rec, colStatusCode), ResponseReason: rep.get(rec, colReason)}
	if ev.Subscription == "" {
		ev.Subscription = rep.sub
	}
	rc := rep.get(rec, colRequestContent)
	if !json.Valid([]byte(rc)) {
		return nil, errors.New("RequestContent is not valid JSON")
	}
	ev.RequestContent = json.RawMessage(rc)
	if ev.Endpoint == "" {
		ev.Endpoint = repost.EndpointSyncLeads
		if !strings.Contains(rc, "programName") {
			// Sync Leads: no need to parse twice.
		} else if parsed, err := repost.ParseRequestContent([]byte(rc)); err == nil && parsed.ProgramName() != "" {
			ev.Endpoint = repost.EndpointPushLead
		}
	}
	if resp := rep.get(rec, colResponse); resp != "" {
		if json.Valid([]byte(resp)) {
			ev.Response = json.RawMessage(resp)
		} else {
			ev.Response, _ = json.Marshal(resp) // kept as text
		}
	}
	if at := rep.get(rec, colAttemptedAt); at != "" {
		t, err := parseReportTime(at)
		if err != nil {
			return nil, err
		}
		ev.AttemptedAt = t.UTC().Format(time.RFC3339Nano)
	}
	ev.ReportColumns = rep.others(rec)
	ev.EventID = rep.get(rec, colEventID)
	if ev.EventID == "" {
		ev.EventID = rep.digest(rec, ev.Subscription)
	}
	return json.Marshal(ev)
}

// others keeps the columns this version does not map, by their header name.
func (rep *csvReport) others(rec []string) map[string]string {
	if len(rep.other) == 0 {
		return nil
	}
	out := make(map[string]string, len(rep.other))
	for _, i := range rep.other {
		out[rep.header[i]] = rec[i]
	}
	return out
}

// digest is a stable eventId for a row: its subscription and cells by
// column name, whatever the column order.
func (rep *csvReport) digest(rec []string, sub string) string {
	names := make([]string, 0, len(rep.header))
	for n := range rep.index {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := []string{sub}
	for _, n := range names {
		if n == colSubscription {
			continue
		}
		parts = append(parts, n, strings.TrimSpace(rec[rep.index[n]]))
	}
	return digestID(parts...)
}

// reportTimeLayouts are the forms AttemptedAt is read in; a time without
// a zone is UTC.
var reportTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05Z07:00", "01/02/2006 15:04:05", "1/2/2006 15:04", "2006-01-02"}

func parseReportTime(s string) (time.Time, error) {
	for _, l := range reportTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("AttemptedAt %q is not a time (want RFC 3339 or 2006-01-02 15:04:05)", clip(s, 40))
}
