package strictjson

import "encoding/json"

// MaxDepth bounds the nesting the strict readers follow: deep enough for any
// real record, shallow enough that a hostile body cannot exhaust the stack.
const MaxDepth = 200

// Member is one key of a JSON object in document order. Start is the offset
// just after the previous member's value (or after '{'), End the offset just
// after this member's value: data[Start:End] is the member with its leading
// comma, which is what splicing a member in and out relies on.
type Member struct {
	Key        string
	Value      json.RawMessage
	Start, End int64
}

// PathError is a rule broken at a path inside a value: the JSON path
// ("requestContent.input[0]"), or "" for the value as a whole, and why.
type PathError struct {
	Path   string
	Reason string
}

func (e *PathError) Error() string { return e.Path + ": " + e.Reason }

// Members returns the members of the JSON object in data, in order. It
// refuses anything but exactly one object, and repeated keys at any depth
// (encoding/json would silently keep the last one), with a *PathError under
// path.
func Members(data []byte, path string) ([]Member, error) {
	if Plain(data, 0) {
		if ms, ok := scanMembers(data); ok {
			return ms, nil
		}
	}
	return walkObject(data, path)
}

// Decode decodes one JSON value with numbers as json.Number, refusing
// repeated keys at any depth, for a value nested depth levels down in the
// value MaxDepth counts from. Errors are *PathError under path.
func Decode(raw []byte, path string, depth int) (any, error) {
	if Plain(raw, depth) {
		if v, ok := scanValue(raw); ok {
			return v, nil
		}
	}
	return walkStrict(raw, path, depth)
}

// Trust says whether a value is part of a body Plain accepted: then its
// own parts need no second check (a part of a plain value is plain, and
// nests no deeper than the whole).
type Trust bool

// Members is Members, without the check for a part of a plain body.
func (t Trust) Members(data []byte, path string) ([]Member, error) {
	if t {
		if ms, ok := scanMembers(data); ok {
			return ms, nil
		}
	}
	return Members(data, path)
}

// Value is Decode, without the check for a part of a plain body; path is
// called only when raw breaks a rule.
func (t Trust) Value(raw []byte, path func() string, depth int) (any, error) {
	if bool(t) || Plain(raw, depth) {
		if v, ok := scanValue(raw); ok {
			return v, nil
		}
	}
	return walkStrict(raw, path(), depth)
}
