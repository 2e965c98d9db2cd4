package main

import (
	"bytes"
	"context"
	"testing"
)

// `repostd demo --help` prints the flags and exits 0; a bad flag exits 2.
func TestDemoHelpExits0(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"demo", "--help"}, func(string) string { return "" }, &out, &errb)
	if err != nil || !bytes.Contains(errb.Bytes(), []byte("-events")) {
		t.Errorf("demo --help: %v\n%s", err, errb.String())
	}
	err = run(context.Background(), []string{"demo", "--bogus"}, func(string) string { return "" }, &out, &errb)
	if !isUsage(err) {
		t.Errorf("demo --bogus: %v, want a usage error", err)
	}
}

// Help text is for users: it names no internal document.
func TestHelpNamesNoInternalDocuments(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"demo", "--help"}} {
		var out, errb bytes.Buffer
		_ = run(context.Background(), args, func(string) string { return "" }, &out, &errb)
		text := out.String() + errb.String()
		if len(text) < 100 {
			t.Errorf("repostd %v printed %q, want its help", args, text)
		}
		for _, w := range []string{"CONTRACT", "DESIGN", "HOUSE_STYLE", "§"} {
			if bytes.Contains([]byte(text), []byte(w)) {
				t.Errorf("repostd %v names %q:\n%s", args, w, text)
			}
		}
	}
}
