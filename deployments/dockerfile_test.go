package deployments

import (
	"bufio"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
	line int
}

// parseDockerfile splits a Dockerfile into instructions; comments and
// parser directives are dropped, backslash continuations joined.
func parseDockerfile(tb testing.TB, file string) []instruction {
	tb.Helper()
	f, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var (
		out     []instruction
		pending strings.Builder
		start   int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && pending.Len() == 0) {
			continue
		}
		if pending.Len() == 0 {
			start = n
		}
		body, more := strings.CutSuffix(line, `\`)
		pending.WriteString(body + " ")
		if more {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(pending.String()), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " "), line: start})
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// stages groups instructions by FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

var (
	buildRun  = regexp.MustCompile(`(?:^| )sh \./deployments/build\.sh "\$\{VERSION\}" (/\S+)$`)
	modCache  = "--mount=type=cache,target=/go/pkg/mod"
	goCache   = "--mount=type=cache,target=/root/.cache/go-build"
	finalBase = "gcr.io/distroless/static-debian12:nonroot"
)

// TestDockerfile: a golang:1.26 builder that builds only through
// deployments/build.sh, with module and build caches mounted, and a distroless
// static nonroot image that runs repostd.
func TestDockerfile(t *testing.T) {
	st := stages(parseDockerfile(t, "../Dockerfile"))
	if len(st) != 2 {
		t.Fatalf("%d stages, want a builder and a final image", len(st))
	}
	build, final := st[0], st[1]
	if got := build[0].args; got != "--platform=$BUILDPLATFORM golang:1.26 AS build" {
		t.Errorf("builder FROM %q, want golang:1.26 on the build platform, named build", got)
	}
	if final[0].args != finalBase {
		t.Errorf("final FROM %q, want %s", final[0].args, finalBase)
	}
	outDir := checkBuildStage(t, build)
	checkFinalStage(t, final, outDir)
}

// checkBuildStage returns the output directory of the one RUN of build.sh.
func checkBuildStage(t *testing.T, build []instruction) string {
	t.Helper()
	var outDir string
	var version, download bool
	for _, in := range build {
		switch {
		case in.cmd == "ARG" && strings.HasPrefix(in.args, "VERSION"):
			version = true
		case in.cmd == "RUN" && strings.Contains(in.args, "go build"):
			t.Errorf("line %d: go build outside deployments/build.sh: its flags would drift", in.line)
		case in.cmd == "RUN" && strings.HasSuffix(in.args, "go mod download"):
			download = strings.Contains(in.args, modCache)
		case in.cmd == "RUN" && strings.Contains(in.args, "deployments/build.sh"):
			m := buildRun.FindStringSubmatch(in.args)
			if m == nil || outDir != "" {
				t.Errorf("line %d: want exactly one RUN ... sh ./deployments/build.sh \"${VERSION}\" /OUT, got %q", in.line, in.args)
				continue
			}
			outDir = m[1]
			if !strings.Contains(in.args, modCache) || !strings.Contains(in.args, goCache) {
				t.Errorf("line %d: build.sh RUN must mount the module cache and the build cache", in.line)
			}
		}
	}
	if !version {
		t.Error("builder stage declares no ARG VERSION")
	}
	if !download {
		t.Errorf("no RUN %s go mod download layer", modCache)
	}
	if outDir == "" {
		t.Fatal("the builder never runs deployments/build.sh")
	}
	return outDir
}

func checkFinalStage(t *testing.T, final []instruction, outDir string) {
	t.Helper()
	var user, entry, copied string
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "COPY":
			copied = in.args
		case "RUN":
			t.Errorf("line %d: RUN in the final stage: distroless has no shell", in.line)
		}
	}
	if user != "nonroot" {
		t.Errorf("USER %q, want nonroot", user)
	}
	want := "--from=build " + path.Join(outDir, "repostd") + " " + path.Join(outDir, "repostctl") + " /usr/local/bin/"
	if copied != want {
		t.Errorf("COPY %q, want %q (both binaries build.sh writes)", copied, want)
	}
	if entry != `["/usr/local/bin/repostd"]` {
		t.Errorf("ENTRYPOINT %s, want the exec form [\"/usr/local/bin/repostd\"]", entry)
	}
}

// TestDockerignore: the context keeps what build.sh needs and drops history
// and local state.
func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	ignored := func(p string) bool {
		for _, pat := range patterns {
			for _, candidate := range []string{p, path.Base(p), strings.SplitN(p, "/", 2)[0]} {
				if ok, _ := path.Match(strings.TrimPrefix(strings.TrimPrefix(pat, "/"), "**/"), candidate); ok {
					return true
				}
			}
		}
		return false
	}
	for _, keep := range []string{"go.mod", "go.sum", "deployments/build.sh", "cmd/repostd/main.go", "cmd/repostctl/main.go", "worker/doc.go"} {
		if ignored(keep) {
			t.Errorf(".dockerignore drops %s, which the build needs", keep)
		}
	}
	for _, drop := range []string{".git", "bin", "data"} {
		if !ignored(drop) {
			t.Errorf(".dockerignore keeps %s in the build context", drop)
		}
	}
}
