package policy_test

import (
	"testing"

	"github.com/leadops/repost/policy"
)

func TestFieldFromMessage(t *testing.T) {
	tests := []struct {
		name string
		code policy.Code
		msg  string
		want string
	}{
		{"1006 contract", "1006", "Field 'role' not found", "role"},
		{"1006 typographic quotes (seed)", "1006", "Field \u2018role\u2019 not found", "role"},
		{"1006 double quotes", "1006", `Field "jobTitle" not found`, "jobTitle"},
		{"1006 spaces inside quotes", "1006", "Field ' role ' not found", "role"},
		{"1011", "1011", "Field 'firstName' not supported", "firstName"},
		{"1002", "1002", "Missing value for required parameter 'email'", "email"},
		{"1002 typographic", "1002", "Missing value for required parameter \u2018email\u2019", "email"},
		{"701 quoted", "701", "'email' cannot be blank", "email"},
		{"701 bare", "701", "email cannot be blank", "email"},
		{"701 typographic", "701", "\u2018company\u2019 cannot be blank", "company"},
		{"701 a sentence is not a field", "701", "Lead email cannot be blank", ""},
		{"1001 names the value, not the field", "1001", "Invalid value 'x'. Required of type 'integer'", ""},
		{"1001 typographic, still no field", "1001", "Invalid value \u2018abc\u2019. Required of type \u2018integer\u2019", ""},
		{"1001 with a field named", "1001", "Invalid value 'abc' for field 'numberOfEmployees'. Required of type 'integer'", "numberOfEmployees"},
		{"1008 implies partitionName", "1008", "Access denied to partition 'EMEA'", "partitionName"},
		{"1009 implies partitionName", "1009", "Partition name must be specified", "partitionName"},
		{"1025 implies programStatus", "1025", "Program status not found", "programStatus"},
		{"shape found whatever the code", "611", "Field 'role' not found", "role"},
		{"Marketo's template is not a field", "1006", "Field '%s' not found", ""},
		{"no message", "1006", "", ""},
		{"no field", "604", "Request timed out", ""},
		{"empty quotes", "1006", "Field '' not found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.FieldFromMessage(tt.code, tt.msg); got != tt.want {
				t.Errorf("FieldFromMessage(%s, %q) = %q, want %q", tt.code, tt.msg, got, tt.want)
			}
		})
	}
}

func FuzzFieldFromMessage(f *testing.F) {
	f.Add("1006", "Field 'role' not found")
	f.Add("701", "email cannot be blank")
	f.Add("1001", "Invalid value \u2018x\u2019. Required of type \u2018integer\u2019")
	f.Fuzz(func(t *testing.T, code, msg string) {
		got := policy.FieldFromMessage(policy.Code(code), msg)
		if len(got) > 100 {
			t.Fatalf("field of %d bytes", len(got))
		}
		for _, r := range got {
			if r < ' ' {
				t.Fatalf("control character in field %q", got)
			}
		}
	})
}
