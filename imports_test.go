package repost

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportRules checks docs/DESIGN.md's "Packages and imports" rules with
// go list: for the "only" rules every dependency, direct or not, outside the
// standard library must be allowed; for the "not" rules the package must
// not depend on the other at all.
func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to list imports")
	}
	const mod = "github.com/leadops/repost"
	only := map[string][]string{ // package: what it may depend on besides the standard library
		mod:                          {mod + "/policy", mod + "/internal/strictjson"},
		mod + "/policy":              nil,
		mod + "/internal/strictjson": nil,
		mod + "/internal/randid":     nil,
		mod + "/internal/redact":     nil,
		mod + "/config":              {mod + "/policy", "gopkg.in/yaml.v3"},
		mod + "/marketo/marketotest": {mod + "/internal/strictjson", mod + "/internal/randid", mod + "/marketo"},
	}
	never := map[string][]string{
		mod + "/marketo": {mod + "/quota", mod},
		mod + "/quota":   {mod + "/marketo"},
	}
	for pkg, allowed := range only {
		for _, dep := range deps(t, pkg, allowed != nil) {
			if !slices.Contains(allowed, dep) {
				t.Errorf("%s depends on %s: docs/DESIGN.md allows only the standard library and %v", pkg, dep, allowed)
			}
		}
	}
	for pkg, banned := range never {
		for _, dep := range deps(t, pkg, true) {
			if slices.Contains(banned, dep) {
				t.Errorf("%s depends on %s, which docs/DESIGN.md forbids", pkg, dep)
			}
		}
	}
}

// deps lists the packages pkg depends on outside the standard library
// (pkg itself left out), without its tests. With some set, finding none is
// fatal: the check would pass on anything (a mistyped package, say).
func deps(t *testing.T, pkg string, some bool) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var ds []string
	for _, d := range strings.Fields(string(out)) {
		if d != pkg {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 && some {
		t.Fatalf("go list found no dependencies of %s: the check would pass on anything", pkg)
	}
	return ds
}
