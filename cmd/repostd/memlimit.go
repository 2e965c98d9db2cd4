package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// envMemoryLimit is the container's memory limit in bytes, as Kubernetes
// passes it (env valueFrom.resourceFieldRef: {resource: limits.memory}).
const envMemoryLimit = "REPOST_MEMORY_LIMIT"

// memoryLimit is the Go runtime's soft memory limit repostd sets at start,
// 90% of the container's memory limit: the GC works harder before the
// kernel's OOM kill at the limit, and the last 10% is left to what the
// runtime does not count (binary text, C stacks). Kubernetes can hand a
// container its limit but not a share of it, hence the derivation here
// rather than a GOMEMLIMIT written out next to the limit and drifting
// from it.
type memoryLimit struct {
	Bytes int64  // the soft limit to set; 0: repostd sets none
	Of    int64  // the container limit Bytes is 90% of
	From  string // GOMEMLIMIT (set by the operator, left alone), REPOST_MEMORY_LIMIT, "cgroup memory.max", or ""
	Note  string // why a cgroup limit was ignored, for the log
}

// deriveMemoryLimit decides the soft limit, first match wins:
//  1. GOMEMLIMIT set: the runtime applied it at start; repostd leaves it;
//  2. REPOST_MEMORY_LIMIT: a positive count of bytes, else an error naming
//     the variable (repostd then refuses to start: a typo in a manifest
//     must not pass for "no limit");
//  3. the cgroup v2 memory.max of this process (docker run -m, a pod
//     without the variable), when it is a number; "max", no cgroup v2 or
//     an unreadable file set nothing, an unparsable one is noted;
//  4. nothing: no soft limit, the runtime's default.
//
// read is os.ReadFile in production.
func deriveMemoryLimit(getenv func(string) string, read func(string) ([]byte, error)) (memoryLimit, error) {
	if getenv("GOMEMLIMIT") != "" {
		return memoryLimit{From: "GOMEMLIMIT"}, nil
	}
	if v := getenv(envMemoryLimit); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return memoryLimit{}, fmt.Errorf("%s %q: not a count of bytes (pass limits.memory through the downward API: "+
				"valueFrom.resourceFieldRef, divisor 1)", envMemoryLimit, v)
		}
		return ninetyPercent(n, envMemoryLimit), nil
	}
	path := cgroupMemoryMax(read)
	if path == "" {
		return memoryLimit{}, nil
	}
	b, err := read(path)
	if err != nil {
		return memoryLimit{}, nil
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return memoryLimit{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return memoryLimit{Note: fmt.Sprintf("%s %q is not a count of bytes: no soft memory limit", path, s)}, nil
	}
	return ninetyPercent(n, "cgroup memory.max"), nil
}

func ninetyPercent(limit int64, from string) memoryLimit {
	return memoryLimit{Bytes: limit - limit/10, Of: limit, From: from}
}

// cgroupMemoryMax is the memory.max file of this process's cgroup v2
// ("0::<path>" in /proc/self/cgroup), or "" without cgroup v2.
func cgroupMemoryMax(read func(string) ([]byte, error)) string {
	b, err := read("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return "/sys/fs/cgroup" + strings.TrimSuffix(rest, "/") + "/memory.max"
		}
	}
	return ""
}

// applyMemoryLimit derives the soft memory limit, sets it, and logs what
// is in effect and why.
func applyMemoryLimit(getenv func(string) string, log *zap.Logger) error {
	ml, err := deriveMemoryLimit(getenv, os.ReadFile)
	if err != nil {
		return err
	}
	if ml.Note != "" {
		log.Warn("memory limit: " + ml.Note)
	}
	switch {
	case ml.From == "GOMEMLIMIT":
		log.Info("memory limit", zap.String("from", "GOMEMLIMIT"), zap.String("GOMEMLIMIT", getenv("GOMEMLIMIT")),
			zap.Int64("soft_limit_bytes", debug.SetMemoryLimit(-1)))
	case ml.Bytes > 0:
		debug.SetMemoryLimit(ml.Bytes)
		log.Info("memory limit", zap.String("from", ml.From), zap.Int64("soft_limit_bytes", ml.Bytes),
			zap.Int64("container_limit_bytes", ml.Of),
			zap.String("soft_limit", fmt.Sprintf("%.1fMiB, 90%% of %.1fMiB", float64(ml.Bytes)/(1<<20), float64(ml.Of)/(1<<20))))
	default:
		log.Info("memory limit: none (no GOMEMLIMIT, no " + envMemoryLimit + ", no cgroup v2 memory.max)")
	}
	return nil
}
