package deployments

import (
	"slices"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// placeholder is the only value the example Secret may hold.
const placeholder = "REPLACE-ME"

// TestNoSecretRendered: no kustomization holds a Secret, so `kubectl apply -k`
// never replaces the operator's repost-secrets with placeholders.
func TestNoSecretRendered(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			for _, s := range mustRender(t, dir).secrets {
				t.Errorf("renders Secret %s: an apply would overwrite the real one", s.Name)
			}
		})
	}
}

// TestExampleSecret: the documented example is marked as one, holds only
// placeholders, and has exactly the keys config.yaml expands, under the name
// every repostd container loads.
func TestExampleSecret(t *testing.T) {
	s := mustExampleSecret(t)
	if s.Annotations["repost.leadops.io/example"] == "" {
		t.Errorf("Secret %s is not marked as an example (annotation repost.leadops.io/example)", s.Name)
	}
	var keys []string
	for k, v := range s.StringData {
		keys = append(keys, k)
		if v != placeholder {
			t.Errorf("Secret %s key %s holds a value other than %s", s.Name, k, placeholder)
		}
	}
	for k, v := range s.Data {
		keys = append(keys, k)
		if string(v) != placeholder {
			t.Errorf("Secret %s key %s holds a value other than %s", s.Name, k, placeholder)
		}
	}
	slices.Sort(keys)
	r := mustRender(t, "kustomize/base")
	cm := mustConfigMap(t, r)
	want, err := secretVars(cm.Data["config.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("example Secret keys %v, config.yaml expands %v", keys, want)
	}
	for _, dir := range kustomizations {
		for d, c := range repostContainers(t, mustRender(t, dir)) {
			loads := false
			for _, from := range c.EnvFrom {
				loads = loads || (from.SecretRef != nil && from.SecretRef.Name == s.Name)
			}
			if !loads {
				t.Errorf("%s: Deployment %s does not load Secret %s", dir, d.Name, s.Name)
			}
		}
	}
}

func TestServiceAccounts(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			r := mustRender(t, dir)
			for _, sa := range r.serviceAccounts {
				if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
					t.Errorf("ServiceAccount %s: automountServiceAccountToken must be false", sa.Name)
				}
			}
			for _, d := range r.deployments {
				name := d.Spec.Template.Spec.ServiceAccountName
				if _, ok := repostContainers(t, r)[d]; !ok || name == "" || len(r.serviceAccounts) == 0 {
					continue
				}
				if !hasServiceAccount(r, name) {
					t.Errorf("Deployment %s uses ServiceAccount %s, which is not rendered", d.Name, name)
				}
			}
		})
	}
}

func hasServiceAccount(r *rendered, name string) bool {
	for _, sa := range r.serviceAccounts {
		if sa.Name == name {
			return true
		}
	}
	return false
}

// TestMetricsService: the Service selects repostd's pods, its target port is
// repostd's listener, the scrape annotation names that port, and not-ready
// pods stay scrapable.
func TestMetricsService(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			r := mustRender(t, dir)
			workloads := repostContainers(t, r)
			for _, svc := range r.services {
				selected := selectedRepost(svc.Spec.Selector, workloads)
				if len(svc.Spec.Selector) == 0 || len(selected) == 0 {
					t.Fatalf("Service %s selects no repostd pod (selector %v)", svc.Name, svc.Spec.Selector)
				}
				if !svc.Spec.PublishNotReadyAddresses {
					t.Errorf("Service %s: publishNotReadyAddresses must be true (scrape pods while /readyz fails)", svc.Name)
				}
				for _, c := range selected {
					for _, port := range svc.Spec.Ports {
						got := containerPort(c, port.TargetPort.String())
						var p problems
						listen, _ := httpPort(&p, c)
						if got == 0 || got != listen {
							t.Errorf("Service %s port %s targets %s: %d, repostd listens on %d", svc.Name, port.Name, port.TargetPort.String(), got, listen)
						}
						if ann := svc.Annotations["prometheus.io/port"]; ann != strconv.Itoa(int(listen)) {
							t.Errorf("Service %s prometheus.io/port %q, repostd listens on %d", svc.Name, ann, listen)
						}
					}
				}
			}
		})
	}
}

func selectedRepost(selector map[string]string, workloads map[*appsv1.Deployment]*corev1.Container) []*corev1.Container {
	var out []*corev1.Container
	for d, c := range workloads {
		if len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, c)
		}
	}
	return out
}

func TestPodDisruptionBudgets(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			r := mustRender(t, dir)
			for _, pdb := range r.pdbs {
				d := r.deployment("repost")
				if d == nil || pdb.Spec.Selector == nil {
					t.Fatalf("PodDisruptionBudget %s without a selector or Deployment repost", pdb.Name)
				}
				sel := labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels)
				if len(pdb.Spec.Selector.MatchLabels) == 0 || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
					t.Errorf("PodDisruptionBudget %s does not select repost's pods", pdb.Name)
				}
				if pdb.Spec.MaxUnavailable == nil {
					// minAvailable would block every drain of a single replica.
					t.Errorf("PodDisruptionBudget %s: use maxUnavailable", pdb.Name)
				}
			}
		})
	}
}

// defaultContainer is the annotation kubectl logs, exec and attach read to
// pick a container when -c is not given.
const defaultContainer = "kubectl.kubernetes.io/default-container"

// TestSidecarDefaultContainer: with repostd added, DAP's pods have two
// containers; the annotation keeps `kubectl logs` on DAP's own one.
func TestSidecarDefaultContainer(t *testing.T) {
	r := mustRender(t, "kustomize/overlays/sidecar")
	for d, c := range repostContainers(t, r) {
		pod := d.Spec.Template
		name, ok := pod.Annotations[defaultContainer]
		if !ok {
			t.Fatalf("Deployment %s: no %s annotation on its pods", d.Name, defaultContainer)
		}
		if name == c.Name {
			t.Errorf("Deployment %s: %s is repostd; it must stay DAP's container", d.Name, defaultContainer)
		}
		found := false
		for _, other := range pod.Spec.Containers {
			found = found || other.Name == name
		}
		if !found {
			t.Errorf("Deployment %s: %s %q names no container of the pod", d.Name, defaultContainer, name)
		}
	}
}
