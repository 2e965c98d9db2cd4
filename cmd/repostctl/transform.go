package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/leadops/repost"
)

// transformFlags are requeue's fixes to each lead's requestContent. They
// apply in this order whatever the order on the command line: rename, drop,
// set, coerce, program status.
type transformFlags struct {
	rename        []string
	drop          []string
	set           []string
	coerce        []string
	programStatus string
}

func (t *transformFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&t.rename, "rename-field", nil, "rename a field in every record: old=new (repeatable)")
	fs.StringArrayVar(&t.drop, "drop-field", nil, "remove a field from every record (repeatable)")
	fs.StringArrayVar(&t.set, "set-field", nil, "set a field to a string in every record: field=value (repeatable)")
	fs.StringArrayVar(&t.coerce, "coerce-field", nil, "convert a field: field=integer|boolean|date (repeatable); a lead whose value does not convert stays parked")
	fs.StringVar(&t.programStatus, "program-status", "", "set programStatus of Push Lead requests")
}

type pair struct{ key, value string }

// coercion kinds of --coerce-field.
var coercions = map[string]func(any) (any, error){
	"integer": coerceInteger,
	"boolean": coerceBoolean,
	"date":    coerceDate,
}

// transforms is the parsed, checked form of transformFlags.
type transforms struct {
	rename        []pair
	drop          []string
	set           []pair
	coerce        []pair
	programStatus string
}

// parse checks the syntax; every error is a usage error.
func (t transformFlags) parse() (transforms, error) {
	var out transforms
	var err error
	if out.rename, err = pairs("--rename-field", "old=new", t.rename, true); err != nil {
		return out, err
	}
	for _, p := range out.rename {
		if p.key == p.value {
			return out, usagef("--rename-field %s=%s renames a field to itself", p.key, p.value)
		}
	}
	for _, f := range t.drop {
		if strings.TrimSpace(f) == "" || strings.Contains(f, "=") {
			return out, usagef("--drop-field %q: want a field name", f)
		}
		out.drop = append(out.drop, strings.TrimSpace(f))
	}
	if out.set, err = pairs("--set-field", "field=value", t.set, false); err != nil {
		return out, err
	}
	if out.coerce, err = pairs("--coerce-field", "field=integer|boolean|date", t.coerce, true); err != nil {
		return out, err
	}
	for _, p := range out.coerce {
		if coercions[p.value] == nil {
			return out, usagef("--coerce-field %s=%s: the type must be integer, boolean or date", p.key, p.value)
		}
	}
	if t.programStatus != "" && strings.TrimSpace(t.programStatus) == "" {
		return out, usagef("--program-status must not be blank")
	}
	out.programStatus = t.programStatus
	return out, nil
}

func pairs(flag, form string, in []string, valueRequired bool) ([]pair, error) {
	var out []pair
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || (valueRequired && strings.TrimSpace(v) == "") {
			return nil, usagef("%s %q: want %s", flag, s, form)
		}
		if valueRequired {
			v = strings.TrimSpace(v)
		}
		out = append(out, pair{k, v})
	}
	return out, nil
}

// String describes the transforms for the requeued outcome's reason.
func (t transforms) String() string {
	var parts []string
	for _, p := range t.rename {
		parts = append(parts, "rename "+p.key+"="+p.value)
	}
	for _, f := range t.drop {
		parts = append(parts, "drop "+f)
	}
	for _, p := range t.set {
		parts = append(parts, "set "+p.key+"="+p.value)
	}
	for _, p := range t.coerce {
		parts = append(parts, "coerce "+p.key+"="+p.value)
	}
	if t.programStatus != "" {
		parts = append(parts, "programStatus="+t.programStatus)
	}
	if len(parts) == 0 {
		return "unchanged"
	}
	return strings.Join(parts, ", ")
}

// transformError is why one lead cannot be requeued: it stays parked.
type transformError struct {
	field  string
	reason string
}

func (e *transformError) Error() string {
	if e.field == "" {
		return e.reason
	}
	return fmt.Sprintf("field %q: %s", e.field, e.reason)
}

// apply changes rc in place: every record of its input, then programStatus.
func (t transforms) apply(rc *repost.RequestContent, endpoint string) error {
	for i, rec := range rc.Input {
		if err := t.applyRecord(rec); err != nil {
			if len(rc.Input) > 1 {
				return fmt.Errorf("input[%d]: %w", i, err)
			}
			return err
		}
	}
	if t.programStatus != "" {
		if endpoint != repost.EndpointPushLead {
			return &transformError{"programStatus", "--program-status applies to Push Lead (" + repost.EndpointPushLead + ") events only"}
		}
		if err := rc.SetParam("programStatus", t.programStatus); err != nil {
			return &transformError{"programStatus", err.Error()}
		}
	}
	return nil
}

func (t transforms) applyRecord(rec repost.Record) error {
	for _, p := range t.rename {
		v, ok := rec[p.key]
		if !ok {
			continue
		}
		if old, taken := rec[p.value]; taken && fmt.Sprint(old) != fmt.Sprint(v) {
			return &transformError{p.value, fmt.Sprintf("already set to %v; renaming %s onto it would lose a value", old, p.key)}
		}
		rec[p.value] = v
		delete(rec, p.key)
	}
	for _, f := range t.drop {
		delete(rec, f)
	}
	for _, p := range t.set {
		rec[p.key] = p.value
	}
	for _, p := range t.coerce {
		v, ok := rec[p.key]
		if !ok || v == nil {
			continue
		}
		c, err := coercions[p.value](v)
		if err != nil {
			return &transformError{p.key, err.Error()}
		}
		rec[p.key] = c
	}
	return nil
}

// scalarText is a record value as text, for coercion.
func scalarText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("%s value cannot be converted", kindOf(v))
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}

// coerceInteger accepts integers written as numbers or text, "1,234" and
// "12.0"; an empty string becomes null.
func coerceInteger(v any) (any, error) {
	s, err := scalarText(v)
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, nil
	}
	clean := strings.ReplaceAll(s, ",", "")
	if _, ok := new(big.Int).SetString(clean, 10); ok {
		return json.Number(strings.TrimLeft(clean, "+")), nil
	}
	if f, ok := new(big.Float).SetString(clean); ok && f.IsInt() {
		i, _ := f.Int(nil)
		return json.Number(i.String()), nil
	}
	return nil, fmt.Errorf("%q is not an integer", s)
}

// coerceBoolean accepts true/false, yes/no, y/n, 1/0 in any case; an empty
// string becomes null.
func coerceBoolean(v any) (any, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	s, err := scalarText(v)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(s) {
	case "":
		return nil, nil
	case "true", "yes", "y", "1", "t":
		return true, nil
	case "false", "no", "n", "0", "f":
		return false, nil
	}
	return nil, fmt.Errorf("%q is not a boolean", s)
}

// dateLayouts are the date forms --coerce-field f=date understands.
var dateLayouts = []string{
	"2006-01-02", time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05",
	"2006/01/02", "01/02/2006", "1/2/2006", "Jan 2, 2006", "Jan 2 2006", "2 Jan 2006", "January 2, 2006",
}

// coerceDate writes a date as Marketo's 2006-01-02; an empty string becomes null.
func coerceDate(v any) (any, error) {
	s, err := scalarText(v)
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	return nil, fmt.Errorf("%q is not a date (2006-01-02, RFC 3339, 01/02/2006, Jan 2 2006)", s)
}
