package policy

import (
	"regexp"
	"strings"
)

// quotes maps the quotes Marketo and DAP use (the seed documents show
// ‘typographic’ ones) to the ASCII apostrophe the patterns expect.
var quotes = strings.NewReplacer(
	"\u2018", "'", "\u2019", "'", "\u201a", "'", "\u201b", "'",
	"\u201c", "'", "\u201d", "'", "\u00ab", "'", "\u00bb", "'",
	"`", "'", "\u00b4", "'", `"`, "'",
)

// Message shapes that name a field, as Marketo words them:
//
//	1006 Field 'role' not found           1011 Field 'x' not supported
//	1002 Missing value for required parameter 'email'
//	701  'email' cannot be blank          701  email cannot be blank
//
// 1001's "Invalid value 'x'. Required of type 'integer'" names the value and
// the type, never the field, so it yields a field only when it also says
// "field 'y'".
var fieldShapes = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bfield\s+'\s*([^'\s][^']*?)\s*'`),
	regexp.MustCompile(`(?i)\bparameter\s+'\s*([^'\s][^']*?)\s*'`),
	regexp.MustCompile(`(?i)'\s*([^'\s][^']*?)\s*'\s+cannot\s+be\s+(?:blank|empty|null)`),
	regexp.MustCompile(`(?i)^\s*([A-Za-z_][A-Za-z0-9_.]*)\s+cannot\s+be\s+(?:blank|empty|null)`),
}

// impliedFields are the request fields a code blames without naming them:
// 1008 names the partition's value ("Access denied to partition 'EMEA'")
// and 1009 none, but the fix is the call's partitionName either way; 1025
// is always about programStatus (Push Lead).
var impliedFields = map[Code]string{
	"1008": "partitionName",
	"1009": "partitionName",
	"1025": "programStatus",
}

// maxField bounds what is taken for a field name: a longer capture is a
// sentence the patterns misread, not a Marketo field.
const maxField = 100

// FieldFromMessage returns the Marketo field a failure message names, or
// "" when it names none. The code selects fields implied by the code
// itself (partitionName for 1008/1009, programStatus for 1025); the message
// shapes are tried for every code, since the code and the message of one
// DAP log row do not always come from the same level of the response.
func FieldFromMessage(code Code, msg string) string {
	if !mayNameField(msg) { // most messages: no pattern to run
		return impliedFields[code]
	}
	msg = quotes.Replace(msg)
	for _, re := range fieldShapes {
		if m := re.FindStringSubmatch(msg); m != nil && plausibleField(m[1]) {
			return m[1]
		}
	}
	return impliedFields[code]
}

func plausibleField(s string) bool {
	if s == "" || len(s) > maxField || strings.Contains(s, "%s") {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// mayNameField reports whether msg holds a word every field shape needs.
// The words' letters have no case forms outside ASCII, so an ASCII
// case-insensitive search finds what the (?i) patterns would.
func mayNameField(msg string) bool {
	return containsFoldASCII(msg, "field") || containsFoldASCII(msg, "parameter") || containsFoldASCII(msg, "cannot")
}

func containsFoldASCII(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		j := 0
		for j < len(word) && s[i+j]|0x20 == word[j] {
			j++
		}
		if j == len(word) {
			return true
		}
	}
	return false
}
