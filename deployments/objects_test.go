package deployments

import (
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// placeholder is the only value the example Secret may hold.
const placeholder = "REPLACE-ME"

func TestSecretsArePlaceholders(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			r := mustRender(t, dir)
			for _, s := range r.secrets {
				if s.Annotations["repost.leadops.io/example"] == "" {
					t.Errorf("Secret %s is not marked as an example (annotation repost.leadops.io/example)", s.Name)
				}
				if len(s.StringData)+len(s.Data) == 0 {
					t.Errorf("Secret %s is empty", s.Name)
				}
				for k, v := range s.StringData {
					if v != placeholder {
						t.Errorf("Secret %s key %s holds a value other than %s", s.Name, k, placeholder)
					}
				}
				for k, v := range s.Data {
					if string(v) != placeholder {
						t.Errorf("Secret %s key %s holds a value other than %s", s.Name, k, placeholder)
					}
				}
			}
		})
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
