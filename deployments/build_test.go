package deployments

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// releaseBuild is the build line of build.sh, the one place the release
// flags live: the Dockerfile RUNs the script (TestDockerfile) and
// TestBuildIsStatic runs it here, in CI.
const releaseBuild = `CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION}" -o "$OUT/" ./cmd/repostd ./cmd/repostctl`

// binaries are what build.sh writes and the Dockerfile copies.
var binaries = []string{"repostd", "repostctl"}

func TestBuildScriptFlags(t *testing.T) {
	data, err := os.ReadFile("build.sh")
	if err != nil {
		t.Fatal(err)
	}
	var builds []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "go build") && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			builds = append(builds, strings.TrimSpace(line))
		}
	}
	if len(builds) != 1 || builds[0] != releaseBuild {
		t.Errorf("build.sh builds with %q, want exactly\n%s", builds, releaseBuild)
	}
}

// TestBuildIsStatic runs build.sh as the Dockerfile does and checks both
// binaries: static ELF (no interpreter, no shared library), CGO_ENABLED=0,
// -trimpath and no VCS stamp (read back from the Go build info), stripped
// (-s -w), and carrying the version given to -X main.version.
func TestBuildIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries: skipped in -short mode")
	}
	const version = "v0.0.0-buildtest"
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "sh", "build.sh", version, out)
	// Linux binaries whatever the host: the image is linux.
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, msg)
	}
	for _, name := range binaries {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(out, name)
			p, err := staticELFProblems(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, msg := range p {
				t.Error(msg)
			}
			checkBuildInfo(t, file, version)
		})
	}
}

// staticELFProblems says why file is not a static, stripped ELF executable.
func staticELFProblems(file string) (problems, error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var p problems
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			p.add("program header %v: dynamically linked", prog.Type)
		}
	}
	if needed, err := f.DynString(elf.DT_NEEDED); err == nil && len(needed) > 0 {
		p.add("DT_NEEDED %v: needs shared libraries", needed)
	}
	if f.Section(".symtab") != nil {
		p.add("symbol table present: -s not applied")
	}
	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			p.add("section %s present: -w not applied", s.Name)
			break
		}
	}
	return p, nil
}

// TestStaticELFProblemsSeesDynamic runs the check on the system's sh, a
// dynamically linked executable on any usual Linux.
func TestStaticELFProblemsSeesDynamic(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	if sh, err = filepath.EvalSymlinks(sh); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(sh)
	if err != nil {
		t.Skipf("%s is not ELF: %v", sh, err)
	}
	interp := f.Section(".interp") != nil
	f.Close()
	if !interp {
		t.Skipf("%s is static: nothing to compare with", sh)
	}
	got, err := staticELFProblems(sh)
	if err != nil {
		t.Fatal(err)
	}
	if !containsProblem(got, "dynamically linked") {
		t.Errorf("%s has an .interp section, staticELFProblems = %q", sh, got)
	}
}

func checkBuildInfo(t *testing.T, file, version string) {
	t.Helper()
	info, err := buildinfo.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// The go command does not record -ldflags under -trimpath (they may hold
	// paths): -s, -w and -X are checked in the binary itself.
	want := map[string]string{
		"CGO_ENABLED": "0",
		"-trimpath":   "true",
		"GOOS":        "linux",
	}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("build setting %s = %q, want %q", k, settings[k], v)
		}
	}
	if vcs, ok := settings["vcs"]; ok {
		t.Errorf("build setting vcs = %q: -buildvcs=false not applied", vcs)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(version)) {
		// The linker ignores -X for a variable that does not exist.
		t.Errorf("version %q not in the binary: package main must declare `var version string`", version)
	}
}
