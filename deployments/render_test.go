package deployments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizations is every directory a platform team may `kubectl apply -k`.
var kustomizations = []string{
	"kustomize/base",
	"kustomize/overlays/keda",
	"kustomize/overlays/hpa",
	"kustomize/overlays/sidecar",
}

// exampleSecretFile is the Secret an operator creates before the first apply.
// No kustomization renders it, so that an apply never overwrites the real one.
const exampleSecretFile = "kustomize/examples/secret.example.yaml"

// rendered is the output of one kustomization, every object decoded strictly
// into its Go type.
type rendered struct {
	dir             string
	deployments     []*appsv1.Deployment
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret // rendered: none is expected
	provided        []*corev1.Secret // created by the operator: the documented example
	services        []*corev1.Service
	serviceAccounts []*corev1.ServiceAccount
	pdbs            []*policyv1.PodDisruptionBudget
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	scaledObjects   []*ScaledObject
}

// mustRender builds dir with the kustomize Go API (what `kubectl kustomize`
// embeds) and decodes every object; any unknown field, duplicate key or
// unexpected kind fails the test.
func mustRender(tb testing.TB, dir string) *rendered {
	tb.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), filepath.FromSlash(dir))
	if err != nil {
		tb.Fatalf("kustomize build %s: %v", dir, err)
	}
	r := &rendered{dir: dir}
	for _, res := range resMap.Resources() {
		data, err := res.AsYAML()
		if err != nil {
			tb.Fatalf("%s: %s: %v", dir, res.CurId(), err)
		}
		if err := r.add(res.GetApiVersion(), res.GetKind(), data); err != nil {
			tb.Errorf("%s: %s %s: %v", dir, res.GetKind(), res.GetName(), err)
		}
	}
	r.provided = []*corev1.Secret{mustExampleSecret(tb)}
	if tb.Failed() {
		tb.FailNow()
	}
	return r
}

// mustExampleSecret decodes the example Secret strictly.
func mustExampleSecret(tb testing.TB) *corev1.Secret {
	tb.Helper()
	data, err := os.ReadFile(exampleSecretFile)
	if err != nil {
		tb.Fatal(err)
	}
	var s corev1.Secret
	if err := decodeStrict(data, &s); err != nil {
		tb.Fatalf("%s: %v", exampleSecretFile, err)
	}
	if s.APIVersion != "v1" || s.Kind != "Secret" {
		tb.Fatalf("%s: %s %s, want a v1 Secret", exampleSecretFile, s.APIVersion, s.Kind)
	}
	return &s
}

// add decodes one object into the Go type of its apiVersion and kind.
func (r *rendered) add(apiVersion, kind string, data []byte) error {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return decodeInto(data, &r.deployments)
	case "v1 ConfigMap":
		return decodeInto(data, &r.configMaps)
	case "v1 Secret":
		return decodeInto(data, &r.secrets)
	case "v1 Service":
		return decodeInto(data, &r.services)
	case "v1 ServiceAccount":
		return decodeInto(data, &r.serviceAccounts)
	case "policy/v1 PodDisruptionBudget":
		return decodeInto(data, &r.pdbs)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return decodeInto(data, &r.hpas)
	case "keda.sh/v1alpha1 ScaledObject":
		return decodeInto(data, &r.scaledObjects)
	}
	return fmt.Errorf("%s %s: no Go type to check it against (add one to rendered.add)", apiVersion, kind)
}

func decodeInto[T any](data []byte, list *[]*T) error {
	v := new(T)
	if err := decodeStrict(data, v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// decodeStrict decodes YAML into v the way the API server's strict field
// validation does: duplicate keys, unknown fields and fields whose case
// differs from the Go type's JSON name are all errors.
func decodeStrict(data []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

func (r *rendered) deployment(name string) *appsv1.Deployment {
	for _, d := range r.deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// secret is the Secret a pod of r would load: rendered, or else the one the
// operator creates (the example's keys).
func (r *rendered) secret(name string) *corev1.Secret {
	for _, s := range append(slices.Clip(r.secrets), r.provided...) {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func TestDecodeStrictRefuses(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr bool
	}{
		{name: "valid", yaml: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nautomountServiceAccountToken: false\n"},
		{name: "unknown field", yaml: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nautomountToken: false\n", wantErr: true},
		{name: "wrong case", yaml: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nAutomountServiceAccountToken: false\n", wantErr: true},
		{name: "duplicate key", yaml: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nmetadata: {name: b}\n", wantErr: true},
		{name: "wrong type", yaml: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nautomountServiceAccountToken: \"no\"\n", wantErr: true},
		{name: "nested unknown", yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{name: c, imagePullPolcy: Always}]}}}\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rendered
			var probe struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal([]byte(tt.yaml), &probe); err != nil {
				t.Fatal(err)
			}
			err := r.add(probe.APIVersion, probe.Kind, []byte(tt.yaml))
			if (err != nil) != tt.wantErr {
				t.Fatalf("add() error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestRenderEveryKustomization(t *testing.T) {
	tests := []struct {
		dir  string
		want map[string]int // kind -> count
	}{
		{dir: "kustomize/base", want: map[string]int{"Deployment": 1, "ConfigMap": 1, "Service": 1, "ServiceAccount": 1, "PodDisruptionBudget": 1}},
		{dir: "kustomize/overlays/keda", want: map[string]int{"Deployment": 1, "ConfigMap": 1, "Service": 1, "ServiceAccount": 1, "PodDisruptionBudget": 1, "ScaledObject": 1}},
		{dir: "kustomize/overlays/hpa", want: map[string]int{"Deployment": 1, "ConfigMap": 1, "Service": 1, "ServiceAccount": 1, "PodDisruptionBudget": 1, "HorizontalPodAutoscaler": 1}},
		{dir: "kustomize/overlays/sidecar", want: map[string]int{"Deployment": 1, "ConfigMap": 1, "Service": 1}},
	}
	if len(tests) != len(kustomizations) {
		t.Fatalf("%d kustomizations, %d expectations", len(kustomizations), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			r := mustRender(t, tt.dir)
			got := map[string]int{
				"Deployment": len(r.deployments), "ConfigMap": len(r.configMaps), "Secret": len(r.secrets),
				"Service": len(r.services), "ServiceAccount": len(r.serviceAccounts),
				"PodDisruptionBudget": len(r.pdbs), "HorizontalPodAutoscaler": len(r.hpas),
				"ScaledObject": len(r.scaledObjects),
			}
			for kind, n := range got {
				if n != tt.want[kind] {
					t.Errorf("%d %s, want %d", n, kind, tt.want[kind])
				}
			}
		})
	}
}
