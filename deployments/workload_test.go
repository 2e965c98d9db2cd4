package deployments

import (
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

const (
	// repostImage is the image the Dockerfile builds; a container running it
	// is a repostd, standalone or sidecar.
	repostImage = "ghcr.io/leadops/repost"
	// nonrootUID is distroless's nonroot user.
	nonrootUID = 65532
	// shutdownTail is what the grace period must leave after the drain
	// deadline: releasing leases, closing NATS and Redis, exiting.
	shutdownTail = 5 * time.Second
)

// repostContainers returns the Deployments of r with the repostd container of
// each; a Deployment runs at most one.
func repostContainers(t *testing.T, r *rendered) map[*appsv1.Deployment]*corev1.Container {
	t.Helper()
	out := map[*appsv1.Deployment]*corev1.Container{}
	for _, d := range r.deployments {
		for i := range d.Spec.Template.Spec.Containers {
			c := &d.Spec.Template.Spec.Containers[i]
			if imageRepo(c.Image) != repostImage {
				continue
			}
			if out[d] != nil {
				t.Errorf("%s: Deployment %s runs repostd twice", r.dir, d.Name)
			}
			out[d] = c
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no container runs %s", r.dir, repostImage)
	}
	return out
}

// imageRepo is an image reference without its tag or digest.
func imageRepo(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i]
	}
	return image
}

func TestRepostWorkloads(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			r := mustRender(t, dir)
			cm := mustConfigMap(t, r)
			for d, c := range repostContainers(t, r) {
				pod := &d.Spec.Template.Spec
				t.Run(d.Name, func(t *testing.T) {
					// The deadline this container's repostd will use: its own
					// environment may override the file.
					cfg, err := loadConfig(t, cm, containerEnv(r, c))
					if err != nil {
						t.Fatalf("config.yaml does not load in this container's environment: %v", err)
					}
					for _, msg := range checkRepostPod(r, pod, c, cm, cfg.Worker.ShutdownTimeout) {
						t.Error(msg)
					}
				})
			}
		})
	}
}

// problems collects what a check finds wrong, so that the checks can be
// tested against broken manifests as well as run against the real ones.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// checkRepostPod runs every check on one repostd container and its pod.
func checkRepostPod(r *rendered, pod *corev1.PodSpec, c *corev1.Container, cm *corev1.ConfigMap,
	deadline time.Duration) problems {
	var p problems
	checkImage(&p, c)
	checkProbes(&p, c)
	checkSecurity(&p, pod, c)
	checkResources(&p, c)
	checkMemoryLimit(&p, c)
	checkGracePeriod(&p, pod, deadline)
	checkConfigMount(&p, pod, c, cm.Name)
	checkSecretEnv(&p, r, c, cm.Data["config.yaml"])
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		p.add("automountServiceAccountToken must be false: repostd never calls the Kubernetes API")
	}
	return p
}

func checkImage(p *problems, c *corev1.Container) {
	tag := strings.TrimPrefix(c.Image, imageRepo(c.Image))
	if tag == "" || tag == ":latest" {
		p.add("image %q: pin a version tag or digest, never :latest or none", c.Image)
	}
}

// checkProbes: liveness on /healthz, readiness on /readyz (startup, if any,
// on /healthz), all on the container port repostd listens on.
func checkProbes(p *problems, c *corev1.Container) {
	listen, ok := httpPort(p, c)
	if !ok {
		return
	}
	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
		must  bool
	}{
		{"liveness", c.LivenessProbe, "/healthz", true},
		{"readiness", c.ReadinessProbe, "/readyz", true},
		{"startup", c.StartupProbe, "/healthz", false},
	}
	for _, pr := range probes {
		switch {
		case pr.probe == nil:
			if pr.must {
				p.add("no %s probe", pr.name)
			}
		case pr.probe.HTTPGet == nil:
			p.add("%s probe is not httpGet", pr.name)
		default:
			if pr.probe.HTTPGet.Path != pr.path {
				p.add("%s probe path %q, want %q", pr.name, pr.probe.HTTPGet.Path, pr.path)
			}
			if got := containerPort(c, pr.probe.HTTPGet.Port.String()); got != listen {
				p.add("%s probe port %s is %d, repostd listens on %d", pr.name, pr.probe.HTTPGet.Port.String(), got, listen)
			}
		}
	}
}

// httpPort is the port of REPOST_HTTP_ADDR, which must be a declared
// containerPort listening on every interface (the kubelet probes the pod IP).
func httpPort(p *problems, c *corev1.Container) (int32, bool) {
	addr := envValue(c, "REPOST_HTTP_ADDR")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add("REPOST_HTTP_ADDR %q: %v", addr, err)
		return 0, false
	}
	if host != "" && host != "0.0.0.0" && host != "::" {
		p.add("REPOST_HTTP_ADDR %q: probes and scrapes reach the pod IP, listen on all interfaces", addr)
	}
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		p.add("REPOST_HTTP_ADDR %q: %v", addr, err)
		return 0, false
	}
	if containerPort(c, port) != int32(n) {
		p.add("REPOST_HTTP_ADDR port %s is not a containerPort", port)
	}
	return int32(n), true
}

// containerPort resolves a port name or number against c's ports; 0 if none.
func containerPort(c *corev1.Container, nameOrNumber string) int32 {
	for _, p := range c.Ports {
		if p.Name == nameOrNumber || strconv.Itoa(int(p.ContainerPort)) == nameOrNumber {
			return p.ContainerPort
		}
	}
	return 0
}

func envValue(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// checkSecurity checks the container's effective security context: its own
// settings, else the pod's.
func checkSecurity(p *problems, pod *corev1.PodSpec, c *corev1.Container) {
	sc := c.SecurityContext
	if sc == nil {
		p.add("no container securityContext")
		return
	}
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	nonRoot := pick(sc.RunAsNonRoot, psc.RunAsNonRoot)
	if nonRoot == nil || !*nonRoot {
		p.add("runAsNonRoot is not true")
	}
	// The image says USER nonroot, a name the kubelet cannot check against
	// runAsNonRoot: the uid must be numeric here.
	if uid := pick(sc.RunAsUser, psc.RunAsUser); uid == nil || *uid != nonrootUID {
		p.add("runAsUser must be %d (distroless nonroot)", nonrootUID)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		p.add("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		p.add("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		p.add("privileged")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		p.add("capabilities %+v: want drop [ALL], add none", sc.Capabilities)
	}
	seccomp := pick(sc.SeccompProfile, psc.SeccompProfile)
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		p.add("seccompProfile %+v, want RuntimeDefault", seccomp)
	}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			p.add("volume %s is a hostPath", v.Name)
		}
	}
}

func pick[T any](container, pod *T) *T {
	if container != nil {
		return container
	}
	return pod
}

func checkResources(p *problems, c *corev1.Container) {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, ok := c.Resources.Requests[name]
		if !ok || req.IsZero() {
			p.add("no %s request", name)
		}
		if lim, ok := c.Resources.Limits[name]; ok && lim.Cmp(req) < 0 {
			p.add("%s limit %s below request %s", name, lim.String(), req.String())
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		p.add("no memory limit")
	}
}

// checkGracePeriod: Kubernetes SIGKILLs at terminationGracePeriodSeconds; the
// worker must have drained (its deadline) and closed by then.
func checkGracePeriod(p *problems, pod *corev1.PodSpec, deadline time.Duration) {
	if pod.TerminationGracePeriodSeconds == nil {
		// Kubernetes' default (30 s) would leave the drain's tail to chance.
		p.add("terminationGracePeriodSeconds not set: set it above the shutdown deadline %v", deadline)
		return
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if grace < deadline+shutdownTail {
		p.add("terminationGracePeriodSeconds %v: want at least the shutdown deadline %v + %v", grace, deadline, shutdownTail)
	}
}

// checkConfigMount: REPOST_CONFIG names config.yaml in a read-only mount of
// the rendered ConfigMap (its hashed name).
func checkConfigMount(p *problems, pod *corev1.PodSpec, c *corev1.Container, configMap string) {
	file := envValue(c, "REPOST_CONFIG")
	for _, m := range c.VolumeMounts {
		if path.Join(m.MountPath, "config.yaml") != file {
			continue
		}
		if !m.ReadOnly {
			p.add("config mount %s is writable", m.MountPath)
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name {
				if v.ConfigMap == nil || v.ConfigMap.Name != configMap {
					p.add("volume %s is not ConfigMap %s", v.Name, configMap)
				}
				return
			}
		}
		p.add("volume %s not declared", m.Name)
		return
	}
	p.add("REPOST_CONFIG %q is not config.yaml in any volume mount", file)
}

// checkSecretEnv: every ${VAR} the config expands comes from a Secret the
// container loads with envFrom, and that Secret is in the output.
func checkSecretEnv(p *problems, r *rendered, c *corev1.Container, configYAML string) {
	vars, err := secretVars(configYAML)
	if err != nil {
		p.add("%v", err)
		return
	}
	keys := map[string]bool{}
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			continue
		}
		s := r.secret(from.SecretRef.Name)
		if s == nil {
			p.add("envFrom Secret %s is neither rendered nor the documented example", from.SecretRef.Name)
			continue
		}
		for k := range s.StringData {
			keys[from.Prefix+k] = true
		}
		for k := range s.Data {
			keys[from.Prefix+k] = true
		}
	}
	for _, v := range vars {
		if !keys[v] {
			p.add("config.yaml expands ${%s}, which no envFrom Secret provides", v)
		}
	}
}

// memoryLimitEnv is the variable repostd derives the Go runtime's soft
// memory limit from (90% of it, cmd/repostd memlimit.go): the container's
// own limits.memory in bytes, passed by the downward API.
const memoryLimitEnv = "REPOST_MEMORY_LIMIT"

// checkMemoryLimit: REPOST_MEMORY_LIMIT comes from this container's
// limits.memory through valueFrom.resourceFieldRef, in bytes, and
// GOMEMLIMIT is not set: a literal would win over the derived limit and
// drift from limits.memory when the limit changes alone.
func checkMemoryLimit(p *problems, c *corev1.Container) {
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		return // checkResources names it
	}
	if e := envVar(c, "GOMEMLIMIT"); e != nil {
		p.add("GOMEMLIMIT is set: it wins over the soft limit repostd derives from %s (90%% of limits.memory); remove it", memoryLimitEnv)
	}
	e := envVar(c, memoryLimitEnv)
	if e == nil {
		p.add("no %s: pass limits.memory with valueFrom.resourceFieldRef, repostd sets GOMEMLIMIT's 90%% from it", memoryLimitEnv)
		return
	}
	if e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil {
		p.add("%s must come from valueFrom.resourceFieldRef (limits.memory), not a literal that drifts from the limit", memoryLimitEnv)
		return
	}
	ref := e.ValueFrom.ResourceFieldRef
	if ref.Resource != "limits.memory" {
		p.add("%s comes from %s: want limits.memory", memoryLimitEnv, ref.Resource)
	}
	if ref.ContainerName != "" && ref.ContainerName != c.Name {
		p.add("%s is the memory limit of container %q, not of %q, the repostd that reads it", memoryLimitEnv, ref.ContainerName, c.Name)
	}
	if !ref.Divisor.IsZero() && ref.Divisor.Value() != 1 {
		p.add("%s has divisor %s: repostd reads bytes (divisor 1, the default)", memoryLimitEnv, ref.Divisor.String())
	}
}

// envVar returns the container's variable name, or nil.
func envVar(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}
