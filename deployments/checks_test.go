package deployments

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestChecksCatchBrokenPods breaks the rendered base Deployment one way at a
// time and expects checkRepostPod to name the problem: the checks that pass on
// the real manifests are able to fail.
func TestChecksCatchBrokenPods(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(pod *corev1.PodSpec, c *corev1.Container)
		want    string
	}{
		{"latest image", func(_ *corev1.PodSpec, c *corev1.Container) { c.Image = repostImage + ":latest" }, "never :latest"},
		{"untagged image", func(_ *corev1.PodSpec, c *corev1.Container) { c.Image = repostImage }, "never :latest"},
		{"liveness on readyz", func(_ *corev1.PodSpec, c *corev1.Container) { c.LivenessProbe.HTTPGet.Path = "/readyz" }, "liveness probe path"},
		{"no readiness", func(_ *corev1.PodSpec, c *corev1.Container) { c.ReadinessProbe = nil }, "no readiness probe"},
		{"probe on another port", func(_ *corev1.PodSpec, c *corev1.Container) {
			c.ReadinessProbe.HTTPGet.Port = intstr.FromInt32(9090)
		}, "readiness probe port"},
		{"loopback listener", func(_ *corev1.PodSpec, c *corev1.Container) { setEnv(c, "REPOST_HTTP_ADDR", "127.0.0.1:8080") }, "listen on all interfaces"},
		{"undeclared listener port", func(_ *corev1.PodSpec, c *corev1.Container) { setEnv(c, "REPOST_HTTP_ADDR", ":9999") }, "not a containerPort"},
		{"root", func(pod *corev1.PodSpec, c *corev1.Container) {
			c.SecurityContext.RunAsNonRoot = nil
			pod.SecurityContext.RunAsNonRoot = nil
		}, "runAsNonRoot"},
		{"other uid", func(_ *corev1.PodSpec, c *corev1.Container) { c.SecurityContext.RunAsUser = ptr(int64(1000)) }, "runAsUser"},
		{"writable root", func(_ *corev1.PodSpec, c *corev1.Container) { c.SecurityContext.ReadOnlyRootFilesystem = ptr(false) }, "readOnlyRootFilesystem"},
		{"escalation", func(_ *corev1.PodSpec, c *corev1.Container) { c.SecurityContext.AllowPrivilegeEscalation = nil }, "allowPrivilegeEscalation"},
		{"capability added", func(_ *corev1.PodSpec, c *corev1.Container) {
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
		}, "capabilities"},
		{"no seccomp", func(pod *corev1.PodSpec, c *corev1.Container) {
			c.SecurityContext.SeccompProfile = nil
			pod.SecurityContext.SeccompProfile = nil
		}, "seccompProfile"},
		{"no memory limit", func(_ *corev1.PodSpec, c *corev1.Container) { delete(c.Resources.Limits, corev1.ResourceMemory) }, "no memory limit"},
		{"GOMEMLIMIT written out", func(_ *corev1.PodSpec, c *corev1.Container) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "GOMEMLIMIT", Value: "460MiB"})
		}, "GOMEMLIMIT is set"},
		{"no memory limit variable", func(_ *corev1.PodSpec, c *corev1.Container) { dropEnv(c, memoryLimitEnv) }, "no REPOST_MEMORY_LIMIT"},
		{"memory limit as a literal", func(_ *corev1.PodSpec, c *corev1.Container) {
			envVar(c, memoryLimitEnv).ValueFrom, envVar(c, memoryLimitEnv).Value = nil, "536870912"
		}, "not a literal"},
		{"memory request instead of limit", func(_ *corev1.PodSpec, c *corev1.Container) {
			envVar(c, memoryLimitEnv).ValueFrom.ResourceFieldRef.Resource = "requests.memory"
		}, "want limits.memory"},
		{"another container's limit", func(_ *corev1.PodSpec, c *corev1.Container) {
			envVar(c, memoryLimitEnv).ValueFrom.ResourceFieldRef.ContainerName = "postout"
		}, `of container "postout"`},
		{"limit in MiB", func(_ *corev1.PodSpec, c *corev1.Container) {
			envVar(c, memoryLimitEnv).ValueFrom.ResourceFieldRef.Divisor = resource.MustParse("1Mi")
		}, "divisor 1Mi"},
		{"no cpu request", func(_ *corev1.PodSpec, c *corev1.Container) { delete(c.Resources.Requests, corev1.ResourceCPU) }, "no cpu request"},
		{"default grace", func(pod *corev1.PodSpec, _ *corev1.Container) { pod.TerminationGracePeriodSeconds = nil }, "terminationGracePeriodSeconds"},
		{"grace at deadline", func(pod *corev1.PodSpec, _ *corev1.Container) { pod.TerminationGracePeriodSeconds = ptr(int64(25)) }, "terminationGracePeriodSeconds"},
		{"config elsewhere", func(_ *corev1.PodSpec, c *corev1.Container) { setEnv(c, "REPOST_CONFIG", "/config.yaml") }, "not config.yaml in any volume mount"},
		{"writable config", func(_ *corev1.PodSpec, c *corev1.Container) { c.VolumeMounts[0].ReadOnly = false }, "writable"},
		{"secret not loaded", func(_ *corev1.PodSpec, c *corev1.Container) { c.EnvFrom = nil }, "no envFrom Secret provides"},
		{"token mounted", func(pod *corev1.PodSpec, _ *corev1.Container) { pod.AutomountServiceAccountToken = nil }, "automountServiceAccountToken"},
		{"hostPath", func(pod *corev1.PodSpec, _ *corev1.Container) {
			pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
		}, "hostPath"},
	}
	r := mustRender(t, "kustomize/base")
	cm, cfg := mustWorkerConfig(t, r)
	deadline := cfg.Worker.ShutdownTimeout
	base := r.deployment("repost")
	if got := checkRepostPod(r, &base.Spec.Template.Spec, &base.Spec.Template.Spec.Containers[0], cm, deadline); len(got) > 0 {
		t.Fatalf("base Deployment has problems: %v", got)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base.DeepCopy()
			pod, c := &d.Spec.Template.Spec, &d.Spec.Template.Spec.Containers[0]
			tt.breakIt(pod, c)
			got := checkRepostPod(r, pod, c, cm, deadline)
			if !containsProblem(got, tt.want) {
				t.Errorf("problems %q: none mentions %q", got, tt.want)
			}
		})
	}
}

func containsProblem(got problems, want string) bool {
	for _, p := range got {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}

func setEnv(c *corev1.Container, name, value string) {
	for i := range c.Env {
		if c.Env[i].Name == name {
			c.Env[i].Value = value
		}
	}
}

func dropEnv(c *corev1.Container, name string) {
	c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
}

func ptr[T any](v T) *T { return &v }
