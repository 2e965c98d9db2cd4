package repost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/leadops/repost/internal/strictjson"
)

// Defaults Marketo applies when a request leaves the parameter out.
const (
	DefaultAction      = "createOrUpdate"
	DefaultLookupField = "email"
)

// Record is one lead of a request's input, decoded with json.Number so that
// every number is written back exactly as DAP sent it (12345678901234567890
// and 1.50 stay so). Values are string, json.Number, bool, nil, []any or
// map[string]any.
type Record map[string]any

// RequestContent is the Marketo request body of a post-out, kept exactly as
// sent: Params holds every top-level key other than input (routing such as
// programName, and keys this version does not know) as its JSON text,
// compacted and HTML-escaped as encoding/json writes it but otherwise
// verbatim, and Input the leads. Duplicate keys, at any depth, are refused
// when decoding: which of the two Marketo used cannot be known.
type RequestContent struct {
	Params map[string]json.RawMessage
	Input  []Record

	// rawInput holds the records as they were decoded, compacted: what
	// RawInput returns, so that a repost sends them without a re-encoding.
	rawInput []json.RawMessage
}

// RawInput returns the records exactly as decoded (compacted), in order,
// or nil when the content was not decoded from JSON. It does not follow
// later changes to Input: use InputJSON for those.
func (rc RequestContent) RawInput() []json.RawMessage { return rc.rawInput }

// paramKinds are the parameters whose JSON type is checked: the accessors
// read them. null is accepted for each and means absent.
var paramKinds = map[string]string{
	"action": "string", "lookupField": "string", "partitionName": "string",
	"programName": "string", "programStatus": "string", "source": "string",
	"reason": "string", "asyncProcessing": "boolean",
}

// syncActions are the actions Sync Leads accepts.
var syncActions = map[string]bool{
	"createOnly": true, "updateOnly": true, "createOrUpdate": true, "createDuplicate": true,
}

// ParseRequestContent decodes a request body on its own, as DAP's Post Out
// Log Report carries it in its RequestContent column. Errors are
// *InvalidEventError with fields under "requestContent".
func ParseRequestContent(data []byte) (*RequestContent, error) {
	var rc RequestContent
	if err := rc.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return &rc, nil
}

// UnmarshalJSON decodes strictly: an object, no duplicate keys at any depth,
// the known parameters of the right type, and a non-empty input array of
// objects. Errors are *InvalidEventError.
func (rc *RequestContent) UnmarshalJSON(data []byte) error {
	return rc.unmarshal(bytes.Clone(data), false) // the content keeps parts of it
}

// unmarshal is UnmarshalJSON, told whether data is part of a body already
// checked by strictjson.Plain.
func (rc *RequestContent) unmarshal(data []byte, t strictjson.Trust) error {
	const path = "requestContent"
	members, err := t.Members(data, path)
	if err != nil {
		return asInvalid(err)
	}
	out := RequestContent{Params: make(map[string]json.RawMessage)}
	sawInput := false
	for _, m := range members {
		if m.Key == "input" {
			sawInput = true
			if out.Input, out.rawInput, err = decodeInput(m.Value, t); err != nil {
				return asInvalid(err)
			}
			continue
		}
		if err := checkParam(m.Key, m.Value, t); err != nil {
			return err
		}
		out.Params[m.Key] = strictjson.Compact(m.Value)
	}
	if !sawInput {
		return invalid(path+".input", "missing")
	}
	*rc = out
	return nil
}

func decodeInput(raw json.RawMessage, t strictjson.Trust) ([]Record, []json.RawMessage, error) {
	const path = "requestContent.input"
	if k := strictjson.Kind(raw); k != "array" {
		if _, err := strictjson.Decode(raw, path, 0); err != nil {
			return nil, nil, err
		}
		return nil, nil, &strictjson.PathError{Path: path, Reason: "must be an array, got " + k}
	}
	var raws []json.RawMessage
	if t {
		raws, _ = strictjson.Elements(raw)
	} else if err := json.Unmarshal(raw, &raws); err != nil {
		_, serr := strictjson.Decode(raw, path, 0) // names the syntax error with its path
		if serr == nil {
			serr = &strictjson.PathError{Path: path, Reason: "not valid JSON: " + err.Error()}
		}
		return nil, nil, serr
	}
	if len(raws) == 0 {
		return nil, nil, &strictjson.PathError{Path: path, Reason: "must not be empty"}
	}
	records := make([]Record, len(raws))
	for i, r := range raws {
		elem := func() string { return path + "[" + strconv.Itoa(i) + "]" } // for errors only
		v, err := t.Value(r, elem, 1)                                       // the depth limit counts from input
		if err != nil {
			return nil, nil, err
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, nil, &strictjson.PathError{Path: elem(), Reason: "must be an object, got " + strictjson.TokenKind(v)}
		}
		records[i] = obj
		raws[i] = strictjson.Compact(r)
	}
	return records, raws, nil
}

// checkParam checks a top-level key other than input: no duplicate keys
// inside it, and the expected type for the parameters the accessors read.
func checkParam(key string, raw json.RawMessage, t strictjson.Trust) error {
	field := "requestContent." + key
	if !t { // a part of a plain body has no duplicate key to find
		if _, err := strictjson.Decode(raw, field, 0); err != nil {
			return asInvalid(err)
		}
	}
	want, known := paramKinds[key]
	got := strictjson.Kind(raw)
	if !known || got == "null" {
		return nil
	}
	if got != want {
		return invalid(field, fmt.Sprintf("must be a %s, got %s", want, got))
	}
	if key == "action" {
		s, _ := strictjson.Interned(raw)
		if s != "" && !syncActions[s] {
			return invalid(field, fmt.Sprintf("%q is not one of createOnly, updateOnly, createOrUpdate, createDuplicate", truncate(s, 40)))
		}
	}
	return nil
}

// MarshalJSON writes the parameters sorted by key, then input.
func (rc RequestContent) MarshalJSON() ([]byte, error) {
	w := strictjson.NewObjectWriter()
	w.RawMap(rc.Params, map[string]bool{"input": true})
	if rc.Input == nil {
		w.Raw("input", []byte("[]"))
	} else {
		w.Value("input", rc.Input)
	}
	return w.Close()
}

// InputJSON returns each lead of Input encoded on its own, as a Marketo
// client sends them.
func (rc RequestContent) InputJSON() ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(rc.Input))
	for i, r := range rc.Input {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("input[%d]: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}

// param returns a string parameter, "" when absent or null.
func (rc RequestContent) param(key string) string {
	s, _ := strictjson.Interned(rc.Params[key]) // types were checked when decoded or set
	return s
}

// Action is Sync Leads' action, createOrUpdate when not given (Push Lead
// always upserts, which is the same).
func (rc RequestContent) Action() string {
	if a := rc.param("action"); a != "" {
		return a
	}
	return DefaultAction
}

// LookupField is the field Marketo matches leads on, email when not given.
func (rc RequestContent) LookupField() string {
	if f := rc.param("lookupField"); f != "" {
		return f
	}
	return DefaultLookupField
}

// PartitionName is the lead partition, "" when not given.
func (rc RequestContent) PartitionName() string { return rc.param("partitionName") }

// ProgramName is Push Lead's program, "" when not given.
func (rc RequestContent) ProgramName() string { return rc.param("programName") }

// ProgramStatus is Push Lead's program status, "" when not given.
func (rc RequestContent) ProgramStatus() string { return rc.param("programStatus") }

// Source is Push Lead's source, "" when not given.
func (rc RequestContent) Source() string { return rc.param("source") }

// Reason is Push Lead's reason, "" when not given.
func (rc RequestContent) Reason() string { return rc.param("reason") }

// LookupValue is the value of lead i's lookup field as text: what two calls
// must not upsert at once. It is "" when i is out of range or the value is
// missing, null, an object or an array.
func (rc RequestContent) LookupValue(i int) string {
	if i < 0 || i >= len(rc.Input) {
		return ""
	}
	switch v := rc.Input[i][rc.LookupField()].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// SetParam sets a top-level request parameter, as repostctl does to fix a
// programStatus before a requeue; v is encoded with encoding/json and nil
// removes the key. Known parameters keep their type rules; input cannot be set
// this way. Errors are *InvalidEventError.
func (rc *RequestContent) SetParam(key string, v any) error {
	field := "requestContent." + key
	if key == "" || key == "input" {
		return invalid(field, "cannot be set as a parameter")
	}
	if v == nil {
		delete(rc.Params, key)
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return invalid(field, "cannot be encoded: "+err.Error())
	}
	if err := checkParam(key, raw, false); err != nil {
		return err
	}
	if rc.Params == nil {
		rc.Params = make(map[string]json.RawMessage)
	}
	rc.Params[key] = strictjson.Compact(raw)
	return nil
}

var _ json.Marshaler = RequestContent{}
var _ json.Unmarshaler = (*RequestContent)(nil)
