package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// env returns a getenv backed by a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mustWrite writes content to name under a fresh temp dir and returns its path.
func mustWrite(tb testing.TB, name, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// mustLoadYAML loads YAML text through Load and fails the test on error.
func mustLoadYAML(tb testing.TB, yml string, getenv func(string) string) *Config {
	tb.Helper()
	c, err := Load(mustWrite(tb, "repost.yaml", yml), getenv)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return c
}

// validationErrors flattens the *ValidationErrors in an error tree (wraps and joins).
func validationErrors(err error) []*ValidationError {
	var out []*ValidationError
	var walk func(error)
	walk = func(e error) {
		if ve, ok := e.(*ValidationError); ok {
			out = append(out, ve)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// fieldsOf returns the sorted, distinct fields named by err's ValidationErrors.
func fieldsOf(err error) []string {
	var fields []string
	for _, ve := range validationErrors(err) {
		fields = append(fields, ve.Field)
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}

// wantField asserts that err holds a *ValidationError for field (found by
// errors.As as well as by the flattening walk) and none for another field.
func wantField(tb testing.TB, err error, field string) *ValidationError {
	tb.Helper()
	if err == nil {
		tb.Fatalf("want an error naming %s, got nil", field)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("errors.As(*ValidationError) failed on %v", err)
	}
	if got := fieldsOf(err); !slices.Equal(got, []string{field}) {
		tb.Fatalf("fields = %q, want exactly [%s]; err: %v", got, field, err)
	}
	for _, v := range validationErrors(err) {
		if v.Field == field {
			return v
		}
	}
	return nil
}
