package policy

import "testing"

// The word check before the patterns never hides a field: on any message
// where the patterns find one, the check passes.
func TestMayNameFieldCoversPatterns(t *testing.T) {
	for _, msg := range []string{
		"Field 'role' not found", "FIELD 'x'", "fIeLd 'y'", "Missing value for required parameter 'email'",
		"PARAMETER 'a'", "'email' cannot be blank", "email CANNOT be null", "x Cannot be empty",
	} {
		if !mayNameField(msg) {
			t.Errorf("mayNameField(%q) = false", msg)
		}
	}
	for _, msg := range []string{"Request timed out", "System error", "", "fiel", "paramete", "canno", "Fi eld"} {
		if mayNameField(msg) {
			t.Errorf("mayNameField(%q) = true", msg)
		}
	}
}

func FuzzMayNameField(f *testing.F) {
	f.Add("Field 'role' not found")
	f.Add("'email' cannot be blank")
	f.Add("Request timed out")
	f.Fuzz(func(t *testing.T, msg string) {
		m := quotes.Replace(msg)
		for _, re := range fieldShapes {
			if re.MatchString(m) && !mayNameField(msg) {
				t.Fatalf("%q matches %v but mayNameField says no", msg, re)
			}
		}
	})
}
