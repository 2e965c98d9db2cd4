package main

import (
	"io/fs"
	"runtime/debug"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestDeriveMemoryLimit(t *testing.T) {
	const mi = 1 << 20
	noCgroup := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	cgroup := func(procSelf, memoryMax string) func(string) ([]byte, error) {
		return func(path string) ([]byte, error) {
			switch path {
			case "/proc/self/cgroup":
				return []byte(procSelf), nil
			case "/sys/fs/cgroup/kubepods/pod1/memory.max", "/sys/fs/cgroup/memory.max":
				if memoryMax == "" {
					return nil, fs.ErrNotExist
				}
				return []byte(memoryMax), nil
			}
			return nil, fs.ErrNotExist
		}
	}
	tests := []struct {
		name     string
		env      map[string]string
		read     func(string) ([]byte, error)
		want     memoryLimit
		wantErr  string // in the error; "" for none
		wantNote string // in the note; "" for none
	}{
		{name: "the Deployment's 512Mi", env: map[string]string{"REPOST_MEMORY_LIMIT": "536870912"}, read: noCgroup,
			want: memoryLimit{Bytes: 536870912 - 53687091, Of: 512 * mi, From: envMemoryLimit}},
		{name: "surrounding space", env: map[string]string{"REPOST_MEMORY_LIMIT": " 1073741824\n"}, read: noCgroup,
			want: memoryLimit{Bytes: 1073741824 - 107374182, Of: 1 << 30, From: envMemoryLimit}},
		{name: "GOMEMLIMIT wins", env: map[string]string{"GOMEMLIMIT": "300MiB", "REPOST_MEMORY_LIMIT": "536870912"}, read: noCgroup,
			want: memoryLimit{From: "GOMEMLIMIT"}},
		{name: "GOMEMLIMIT=off wins too", env: map[string]string{"GOMEMLIMIT": "off", "REPOST_MEMORY_LIMIT": "536870912"}, read: noCgroup,
			want: memoryLimit{From: "GOMEMLIMIT"}},
		{name: "a quantity is not bytes", env: map[string]string{"REPOST_MEMORY_LIMIT": "512Mi"}, read: noCgroup,
			wantErr: `REPOST_MEMORY_LIMIT "512Mi": not a count of bytes`},
		{name: "garbage", env: map[string]string{"REPOST_MEMORY_LIMIT": "lots"}, read: noCgroup,
			wantErr: `REPOST_MEMORY_LIMIT "lots": not a count of bytes`},
		{name: "zero", env: map[string]string{"REPOST_MEMORY_LIMIT": "0"}, read: noCgroup,
			wantErr: `REPOST_MEMORY_LIMIT "0": not a count of bytes`},
		{name: "negative", env: map[string]string{"REPOST_MEMORY_LIMIT": "-5"}, read: noCgroup,
			wantErr: `REPOST_MEMORY_LIMIT "-5": not a count of bytes`},
		{name: "overflow", env: map[string]string{"REPOST_MEMORY_LIMIT": "99999999999999999999"}, read: noCgroup,
			wantErr: `REPOST_MEMORY_LIMIT "99999999999999999999": not a count of bytes`},
		{name: "nothing: no limit", read: noCgroup, want: memoryLimit{}},
		{name: "cgroup v2 limit", read: cgroup("0::/kubepods/pod1\n", "268435456\n"),
			want: memoryLimit{Bytes: 268435456 - 26843545, Of: 256 * mi, From: "cgroup memory.max"}},
		{name: "cgroup namespace root", read: cgroup("0::/\n", "268435456\n"),
			want: memoryLimit{Bytes: 268435456 - 26843545, Of: 256 * mi, From: "cgroup memory.max"}},
		{name: "cgroup without a limit", read: cgroup("0::/kubepods/pod1\n", "max\n"), want: memoryLimit{}},
		{name: "cgroup v1 only", read: cgroup("4:memory:/docker/abc\n", ""), want: memoryLimit{}},
		{name: "cgroup garbage is ignored with a note", read: cgroup("0::/\n", "lots\n"),
			want: memoryLimit{}, wantNote: `/sys/fs/cgroup/memory.max "lots"`},
		{name: "the variable wins over the cgroup", env: map[string]string{"REPOST_MEMORY_LIMIT": "536870912"},
			read: cgroup("0::/\n", "268435456\n"),
			want: memoryLimit{Bytes: 536870912 - 53687091, Of: 512 * mi, From: envMemoryLimit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := deriveMemoryLimit(func(k string) string { return tt.env[k] }, tt.read)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			note := got.Note
			got.Note = ""
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if (tt.wantNote == "") != (note == "") || !strings.Contains(note, tt.wantNote) {
				t.Errorf("note %q, want one containing %q", note, tt.wantNote)
			}
		})
	}
}

// A bad REPOST_MEMORY_LIMIT stops repostd at start with exit 1, naming the
// variable: a typo in the manifest must not pass for "no limit".
func TestRunBadMemoryLimitNamesTheVariable(t *testing.T) {
	path := t.TempDir() + "/repost.yaml"
	writeFile(t, path, "dataDir: "+t.TempDir()+"\nhttp: {addr: '127.0.0.1:0'}\nsubscriptions:\n"+
		"  - {id: 123-ABC-456, endpoint: https://x.mktorest.com, clientID: a, clientSecret: b}\n")
	err := run(t.Context(), []string{"--config", path}, func(k string) string {
		return map[string]string{"REPOST_MEMORY_LIMIT": "512Mi"}[k]
	}, new(strings.Builder), new(strings.Builder))
	if err == nil || isUsage(err) || !strings.Contains(err.Error(), "REPOST_MEMORY_LIMIT") {
		t.Fatalf("err = %v, want exit 1 naming REPOST_MEMORY_LIMIT", err)
	}
}

// applyMemoryLimit sets the derived limit in the runtime and logs it.
func TestApplyMemoryLimitSetsAndLogs(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	core, logs := observer.New(zap.InfoLevel)
	env := map[string]string{"REPOST_MEMORY_LIMIT": "8589934592"} // 8 GiB: no pressure on the test process
	if err := applyMemoryLimit(func(k string) string { return env[k] }, zap.New(core)); err != nil {
		t.Fatal(err)
	}
	if got, want := debug.SetMemoryLimit(-1), int64(8589934592-858993459); got != want {
		t.Errorf("runtime soft limit %d, want %d", got, want)
	}
	entries := logs.FilterMessage("memory limit").All()
	if len(entries) != 1 || entries[0].ContextMap()["from"] != envMemoryLimit ||
		entries[0].ContextMap()["soft_limit"] != "7372.8MiB, 90% of 8192.0MiB" {
		t.Errorf("log: %+v", entries)
	}
}
