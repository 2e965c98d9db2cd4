package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Code names why a post-out failed: a Marketo code ("1006", "606"), an HTTP
// status ("401", "413"; Marketo's codes are 6xx, 7xx and 1xxx, so the two never
// collide except on 502, which means the same in both), or one of the named
// codes below. Success is CodeOK.
//
// Its JSON form is a number when the code is numeric and a string otherwise,
// as in the contract's outcomes and parked entries ("code": 1006,
// "code": "invalid"); it decodes from a number, a quoted number or a name.
type Code string

// Named codes: conditions that are not a Marketo or HTTP number.
const (
	CodeOK                  Code = "0"
	CodeTimeout             Code = "timeout"
	CodeNetwork             Code = "network"
	CodeInvalid             Code = "invalid"
	CodeUnknownSubscription Code = "unknown-subscription"
	CodeRetriesExhausted    Code = "retries-exhausted"
	CodeSuperseded          Code = "superseded"
	CodeTooLarge            Code = "too-large"
	// CodeExpired parks an event about to age out of POSTOUT_FAILED while
	// its subscription was halted, paused or blocked.
	CodeExpired Code = "expired"
)

var namedCodes = map[Code]bool{
	CodeTimeout: true, CodeNetwork: true, CodeInvalid: true,
	CodeUnknownSubscription: true, CodeRetriesExhausted: true,
	CodeSuperseded: true, CodeTooLarge: true, CodeExpired: true,
}

// CodeOf returns the Code of a Marketo or HTTP number.
func CodeOf(n int) Code { return Code(strconv.Itoa(n)) }

// ParseCode reads a code as written in a config file, a CLI flag or JSON: a
// non-negative number (quoted or not) or one of the named codes.
func ParseCode(s string) (Code, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty code")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 99999 {
			return "", fmt.Errorf("code %d out of range", n)
		}
		return CodeOf(n), nil
	}
	c := Code(s)
	if !namedCodes[c] {
		return "", fmt.Errorf("unknown code %q (want a number or one of timeout, network, invalid, unknown-subscription, retries-exhausted, superseded, too-large)", s)
	}
	return c, nil
}

// Number returns the code as a number; ok is false for named codes.
func (c Code) Number() (n int, ok bool) {
	n, err := strconv.Atoi(string(c))
	return n, err == nil
}

// IsNamed reports whether c is one of the named codes rather than a number.
func (c Code) IsNamed() bool { return namedCodes[c] }

func (c Code) String() string { return string(c) }

// MarshalJSON writes numeric codes as numbers and named codes as strings.
func (c Code) MarshalJSON() ([]byte, error) {
	if c == "" {
		return []byte("0"), nil
	}
	if n, ok := c.Number(); ok {
		return []byte(strconv.Itoa(n)), nil
	}
	return json.Marshal(string(c))
}

// UnmarshalJSON accepts 1006, "1006" and "invalid".
func (c *Code) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*c = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		parsed, err := ParseCode(s)
		if err != nil {
			return err
		}
		*c = parsed
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("code: want a number or a string, got %s", truncate(b))
	}
	i, err := strconv.Atoi(n.String())
	if err != nil || i < 0 {
		return fmt.Errorf("code: %s is not a non-negative integer", n)
	}
	*c = CodeOf(i)
	return nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
