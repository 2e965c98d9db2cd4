package marketotest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

func skipped(code, msg string) Result {
	return Result{Status: "skipped", Reasons: []Reason{{Code: code, Message: msg}}}
}

// applyLocked applies one record of a call, with s.mu held.
func (s *Sim) applyLocked(req *leadsRequest, rec record, absent map[string]*keyState) Result {
	if rec.bad {
		return skipped("1003", "Invalid data")
	}
	vals, bad := s.validate(req, rec)
	if bad != nil {
		return *bad
	}
	if !slices.Contains(s.opts.Partitions, req.partition) {
		return skipped("1008", "Access denied to partition '"+req.partition+"'")
	}
	var step int
	if req.ep == epPush {
		var r *Result
		if step, r = s.programStep(req); r != nil {
			return *r
		}
	}
	key := lookupKey(req.LookupField, rec)
	matches := s.store.find(req.LookupField, normalize(vals[req.LookupField]))
	if ks := absent[key]; ks != nil && ks.contended {
		delete(absent, key) // the call's first record with this key creates; the next ones update it
		matches = nil
	}
	if req.ep == epPush && len(matches) == 1 && s.pastStatus(req, matches[0], step) {
		return skipped("1037", "Lead skipped")
	}
	l, res := s.upsertLocked(req, vals, matches)
	if l != nil && req.ep == epPush {
		s.joinProgram(req, l, step)
	}
	return res
}

// upsertLocked creates or updates the lead as the action says.
func (s *Sim) upsertLocked(req *leadsRequest, vals map[string]any, matches []*lead) (*lead, Result) {
	now := s.opts.Now()
	byID := req.LookupField == "id"
	_, sentID := vals["id"]
	delete(vals, "id")
	create := func() (*lead, Result) {
		l := s.store.create(req.partition, vals, now)
		return l, Result{ID: l.id, Status: "created"}
	}
	update := func() (*lead, Result) {
		l := matches[0]
		if req.PartitionName != "" && l.partition != req.PartitionName {
			return nil, skipped("1010", "Partition update not allowed")
		}
		s.store.update(l, vals, now)
		return l, Result{ID: l.id, Status: "updated"}
	}
	switch {
	case req.Action == "createDuplicate":
		return create()
	case req.Action == "createOnly" && (byID || sentID):
		return nil, skipped("1003", "Invalid data")
	case len(matches) > 1 && req.Action != "createOnly":
		return nil, skipped("1007", "Multiple leads match the lookup criteria")
	case len(matches) > 0 && req.Action == "createOnly":
		return nil, skipped("1005", "Lead already exists")
	case len(matches) == 1:
		return update()
	case req.Action == "updateOnly" || byID:
		return nil, skipped("1004", "Lead not found")
	}
	return create()
}

// programStep checks Push Lead's program and status, returning the status step.
func (s *Sim) programStep(req *leadsRequest) (int, *Result) {
	statuses, ok := s.opts.Programs[req.ProgramName]
	if !ok {
		r := skipped("1013", "Object not found")
		return 0, &r
	}
	if req.ProgramStatus == "" {
		return 0, nil
	}
	i := slices.Index(statuses, req.ProgramStatus)
	if i < 0 {
		r := skipped("1025", "Program status not found")
		return 0, &r
	}
	return i, nil
}

// pastStatus reports a Push Lead with an explicit status the lead already
// has or is past in the program: Marketo skips it (1037) without writing.
func (s *Sim) pastStatus(req *leadsRequest, l *lead, step int) bool {
	m, ok := l.programs[req.ProgramName]
	return ok && req.ProgramStatus != "" && m.step >= step
}

// joinProgram makes the lead a member at step; without an explicit status an
// existing member keeps its status.
func (s *Sim) joinProgram(req *leadsRequest, l *lead, step int) {
	if _, ok := l.programs[req.ProgramName]; ok && req.ProgramStatus == "" {
		return
	}
	if l.programs == nil {
		l.programs = map[string]membership{}
	}
	l.programs[req.ProgramName] = membership{
		status: s.opts.Programs[req.ProgramName][step], step: step,
		source: req.Source, reason: req.Reason,
	}
}

// validate checks a record against the schema: unknown fields (1006), the
// lookup field (1006, 1011, 1002, 701), then each value's type (1001).
func (s *Sim) validate(req *leadsRequest, rec record) (map[string]any, *Result) {
	lf := req.LookupField
	for _, f := range rec.fields {
		if _, ok := s.opts.Schema[f.key]; !ok && f.key != "id" {
			r := skipped("1006", "Field '"+f.key+"' not found")
			return nil, &r
		}
	}
	if _, ok := s.opts.Schema[lf]; !ok && lf != "id" {
		r := skipped("1006", "Field '"+lf+"' not found")
		return nil, &r
	}
	if !slices.Contains(s.opts.LookupFields, lf) {
		r := skipped("1011", "Field '"+lf+"' not supported")
		return nil, &r
	}
	if req.Action != "createDuplicate" {
		v, ok := rec.get(lf)
		if str, isStr := v.(string); isStr && strings.TrimSpace(str) == "" {
			r := skipped("701", "'"+lf+"' cannot be blank")
			return nil, &r
		}
		if !ok || v == nil {
			r := skipped("1002", "Missing value for required parameter '"+lf+"'")
			return nil, &r
		}
	}
	vals := make(map[string]any, len(rec.fields))
	for _, f := range rec.fields {
		t := s.opts.Schema[f.key]
		if f.key == "id" {
			t = FieldInteger
		}
		v, ok := coerce(t, f.val)
		if !ok {
			r := skipped("1001", "Invalid value '"+display(f.val)+"'. Required of type '"+string(t)+"'")
			return nil, &r
		}
		vals[f.key] = v
	}
	return vals, nil
}

// coerce converts a JSON value to the field's type as Marketo accepts it:
// numbers and booleans in strings, strings in numbers. Empty strings clear
// typed fields.
func coerce(t FieldType, v any) (any, bool) {
	switch v.(type) {
	case nil:
		return nil, true
	case []any, map[string]any:
		return nil, false
	}
	raw := rawScalar(v)
	_, isBool := v.(bool)
	if t != FieldString && t != FieldEmail && strings.TrimSpace(raw) == "" {
		return nil, true
	}
	switch t {
	case FieldString:
		return raw, true
	case FieldEmail:
		raw = strings.TrimSpace(raw)
		return raw, raw == "" || validEmail(raw)
	case FieldInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		return n, err == nil && !isBool
	case FieldFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		return f, err == nil && !isBool
	case FieldBoolean:
		return parseBool(raw)
	case FieldDate:
		d, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			d, err = time.Parse(time.RFC3339, raw)
		}
		return d.Format(time.DateOnly), err == nil
	case FieldDateTime:
		d, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			d, err = time.Parse(time.DateOnly, raw)
		}
		return d.UTC().Format(time.RFC3339), err == nil
	}
	return nil, false
}

func parseBool(raw string) (any, bool) {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return nil, false
}

func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n") && !strings.Contains(domain, "@")
}

// rawScalar is a scalar JSON value as text.
func rawScalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	return display(v)
}

func display(v any) string {
	switch v.(type) {
	case []any, map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return rawScalar(v)
}

// normalize is the form in which lookup values are compared: Marketo's
// lookups ignore case and surrounding spaces.
func normalize(v any) string { return strings.ToLower(strings.TrimSpace(rawScalar(v))) }
