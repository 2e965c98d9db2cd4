package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// Bad command lines exit 2 with the usage on stderr, before any connection.
func TestUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"frobnicate"}},
		{"unknown parked command", []string{"parked", "frob"}},
		{"parked alone", []string{"parked"}},
		{"unknown flag", []string{"parked", "list", "--colour"}},
		{"bad output", []string{"parked", "summary", "-o", "yaml"}},
		{"bad since", []string{"parked", "list", "--since", "yesterday"}},
		{"negative limit", []string{"parked", "list", "--limit", "-1"}},
		{"bad code", []string{"parked", "list", "--code", "12a"}},
		{"show without ID", []string{"parked", "show"}},
		{"requeue without filter", []string{"parked", "requeue", "--rename-field", "role=jobTitle"}},
		{"requeue bad rename", []string{"parked", "requeue", "--code", "1006", "--rename-field", "role"}},
		{"requeue rename to itself", []string{"parked", "requeue", "--code", "1006", "--rename-field", "role=role"}},
		{"requeue bad coerce type", []string{"parked", "requeue", "--code", "1001", "--coerce-field", "n=float"}},
		{"requeue bad set", []string{"parked", "requeue", "--code", "1001", "--set-field", "=x"}},
		{"requeue bad drop", []string{"parked", "requeue", "--code", "1001", "--drop-field", "a=b"}},
		{"requeue negative rate", []string{"parked", "requeue", "--all", "--rate", "-1"}},
		{"discard without reason", []string{"parked", "discard", "--code", "1006"}},
		{"discard without filter", []string{"parked", "discard", "--reason", "test"}},
		{"import without file", []string{"import"}},
		{"import bad format", []string{"import", "x.csv", "--format", "xml"}},
		{"limits two subs", []string{"limits", "a", "b"}},
		{"policy bad code", []string{"policy", "--code", "abc def"}},
		{"policy argument", []string{"policy", "1006"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			// No config and a data dir that does not exist: a usage error
			// must come before any attempt to connect.
			err := run(context.Background(), append(tt.args, "--data-dir", "/nonexistent/repostctl"),
				func(string) string { return "" }, strings.NewReader(""), &out, &errb)
			if got := exitCode(err, &errb); got != 2 {
				t.Fatalf("exit %d (%v), want 2\nstderr: %s", got, err, errb.String())
			}
			if !strings.Contains(errb.String(), "Usage:") {
				t.Errorf("no usage on stderr: %s", errb.String())
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"done", nil, 0},
		{"failed", errors.New("boom"), 1},
		{"usage", usagef("bad"), 2},
		{"wrapped usage", errors.Join(errors.New("x"), usagef("bad")), 2},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err, &bytes.Buffer{}); got != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.want)
		}
	}
}

// --help is not an error.
func TestHelpExits0(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"parked", "requeue", "--help"}, func(string) string { return "" },
		strings.NewReader(""), &out, &errb)
	if err != nil || !strings.Contains(out.String(), "--rename-field") {
		t.Errorf("help: %v\n%s", err, out.String())
	}
}
