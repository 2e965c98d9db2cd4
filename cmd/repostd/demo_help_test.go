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
