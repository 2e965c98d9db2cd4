package deployments

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// kedaJetStreamKeys is the documented metadata of KEDA's nats-jetstream
// scaler (keda.sh/docs/scalers/nats-jetstream, pkg/scalers/nats_jetstream_scaler.go).
var kedaJetStreamKeys = map[string]bool{
	"natsServerMonitoringEndpoint": true,
	"account":                      true,
	"stream":                       true,
	"consumer":                     true,
	"lagThreshold":                 true,
	"activationLagThreshold":       true,
	"useHttps":                     true,
}

// kedaJetStreamRequired are the keys the scaler fails without (account and
// endpoint may come from a TriggerAuthentication instead).
var kedaJetStreamRequired = []string{"stream", "consumer"}

// checkJetStreamTrigger returns what is wrong with one trigger.
func checkJetStreamTrigger(tr ScaleTriggers) []string {
	var bad []string
	if tr.Type != "nats-jetstream" {
		bad = append(bad, fmt.Sprintf("trigger type %q, want nats-jetstream", tr.Type))
	}
	for _, k := range slices.Sorted(maps.Keys(tr.Metadata)) {
		if !kedaJetStreamKeys[k] {
			bad = append(bad, fmt.Sprintf("metadata key %q is not one of KEDA's nats-jetstream keys", k))
		}
	}
	for _, k := range kedaJetStreamRequired {
		if tr.Metadata[k] == "" {
			bad = append(bad, fmt.Sprintf("metadata %s missing", k))
		}
	}
	if tr.AuthenticationRef == nil {
		for _, k := range []string{"account", "natsServerMonitoringEndpoint"} {
			if tr.Metadata[k] == "" {
				bad = append(bad, fmt.Sprintf("metadata %s missing and no authenticationRef", k))
			}
		}
	}
	for _, k := range []string{"lagThreshold", "activationLagThreshold"} {
		if v, ok := tr.Metadata[k]; ok {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
				bad = append(bad, fmt.Sprintf("metadata %s %q is not a count", k, v))
			}
		}
	}
	if v, ok := tr.Metadata["useHttps"]; ok {
		if _, err := strconv.ParseBool(v); err != nil {
			bad = append(bad, fmt.Sprintf("metadata useHttps %q is not a boolean", v))
		}
	}
	return bad
}

func TestCheckJetStreamTrigger(t *testing.T) {
	good := map[string]string{"natsServerMonitoringEndpoint": "nats:8222", "account": "$G",
		"stream": "POSTOUT_FAILED", "consumer": "repost-1", "lagThreshold": "10", "useHttps": "false"}
	with := func(k, v string) map[string]string {
		m := maps.Clone(good)
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		trigger ScaleTriggers
		wantErr bool
	}{
		{name: "documented keys", trigger: ScaleTriggers{Type: "nats-jetstream", Metadata: good}},
		{name: "other scaler", trigger: ScaleTriggers{Type: "stan", Metadata: good}, wantErr: true},
		{name: "undocumented key", trigger: ScaleTriggers{Type: "nats-jetstream", Metadata: with("natsServerEndpoint", "x")}, wantErr: true},
		{name: "misspelt key", trigger: ScaleTriggers{Type: "nats-jetstream", Metadata: with("lagthreshold", "10")}, wantErr: true},
		{name: "no consumer", trigger: ScaleTriggers{Type: "nats-jetstream", Metadata: with("consumer", "")}, wantErr: true},
		{name: "no endpoint", trigger: ScaleTriggers{Type: "nats-jetstream", Metadata: with("natsServerMonitoringEndpoint", "")}, wantErr: true},
		{name: "endpoint from auth", trigger: ScaleTriggers{Type: "nats-jetstream", Metadata: with("natsServerMonitoringEndpoint", ""),
			AuthenticationRef: &AuthenticationRef{Name: "nats"}}},
		{name: "bad threshold", trigger: ScaleTriggers{Type: "nats-jetstream", Metadata: with("lagThreshold", "ten")}, wantErr: true},
		{name: "bad https", trigger: ScaleTriggers{Type: "nats-jetstream", Metadata: with("useHttps", "yes please")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkJetStreamTrigger(tt.trigger)
			if (len(got) > 0) != tt.wantErr {
				t.Errorf("checkJetStreamTrigger() = %q, wantErr %v", got, tt.wantErr)
			}
		})
	}
}

// TestScaledObject: one nats-jetstream trigger per subscription consumer
// (repost-<subscription> on POSTOUT_FAILED), documented keys only, and a max
// replica count within the subscriptions' concurrency budget.
func TestScaledObject(t *testing.T) {
	r := mustRender(t, "kustomize/overlays/keda")
	_, cfg := mustWorkerConfig(t, r)
	if len(r.scaledObjects) != 1 {
		t.Fatalf("%d ScaledObjects, want 1", len(r.scaledObjects))
	}
	so := r.scaledObjects[0]
	ref := so.Spec.ScaleTargetRef
	if ref == nil || ref.Kind != "Deployment" || r.deployment(ref.Name) == nil {
		t.Fatalf("scaleTargetRef %+v is not a rendered Deployment", ref)
	}
	if r.deployment(ref.Name).Spec.Replicas != nil {
		t.Error("the scaled Deployment sets replicas: every apply would fight KEDA")
	}
	checkReplicaBounds(t, so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount, concurrencyBudget(cfg))

	var consumers, names []string
	for i, tr := range so.Spec.Triggers {
		for _, msg := range checkJetStreamTrigger(tr) {
			t.Errorf("trigger %d: %s", i, msg)
		}
		if tr.Metadata["stream"] != "POSTOUT_FAILED" {
			t.Errorf("trigger %d: stream %q, want POSTOUT_FAILED", i, tr.Metadata["stream"])
		}
		consumers = append(consumers, tr.Metadata["consumer"])
		names = append(names, tr.Name)
	}
	var want []string
	for _, id := range subscriptionIDs(cfg) {
		want = append(want, "repost-"+id)
	}
	slices.Sort(consumers)
	if !slices.Equal(consumers, want) {
		t.Errorf("trigger consumers %v, want one per subscription: %v", consumers, want)
	}
	slices.Sort(names)
	if len(slices.Compact(names)) != len(so.Spec.Triggers) {
		t.Errorf("trigger names %v are not unique", names)
	}
	sm := so.Spec.Advanced
	if sm == nil || sm.ScalingModifiers.Formula == "" {
		t.Fatal("no advanced.scalingModifiers: the HPA would follow the largest trigger, not the total backlog")
	}
	summed, err := sumFormula(sm.ScalingModifiers.Formula)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(summed)
	if !slices.Equal(summed, names) {
		t.Errorf("formula adds %v, triggers are %v: every subscription's lag must count once", summed, names)
	}
	if sm.ScalingModifiers.MetricType != autoscalingv2.AverageValueMetricType {
		t.Errorf("scalingModifiers.metricType %q, want AverageValue (events per replica)", sm.ScalingModifiers.MetricType)
	}
	for i, tr := range so.Spec.Triggers {
		if tr.Metadata["lagThreshold"] != sm.ScalingModifiers.Target {
			t.Errorf("trigger %d: lagThreshold %q, scalingModifiers.target %q: keep one threshold", i,
				tr.Metadata["lagThreshold"], sm.ScalingModifiers.Target)
		}
	}
}

// TestKedaScalesOnTheSum: the replica count the rendered ScaledObject asks
// for follows the total of the subscriptions' lags.
func TestKedaScalesOnTheSum(t *testing.T) {
	so := mustRender(t, "kustomize/overlays/keda").scaledObjects[0]
	var a, b string // the two subscriptions' triggers
	for _, tr := range so.Spec.Triggers {
		switch tr.Metadata["consumer"] {
		case "repost-123-ABC-456":
			a = tr.Name
		case "repost-456-DEF-789":
			b = tr.Name
		}
	}
	tests := []struct {
		name string
		lags map[string]float64
		want int32
	}{
		{"idle", map[string]float64{a: 0, b: 0}, 1},
		{"one behind", map[string]float64{a: 1500, b: 0}, 2},
		{"both just under the target", map[string]float64{a: 900, b: 900}, 2}, // the largest alone: 1
		{"both behind", map[string]float64{a: 1500, b: 1400}, 3},              // the largest alone: 2
		{"capped", map[string]float64{a: 1e6, b: 1e6}, *so.Spec.MaxReplicaCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kedaReplicas(so, tt.lags)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("lags %v: %d replicas, want %d", tt.lags, got, tt.want)
			}
		})
	}
}

// identifier is a variable of KEDA's formula language (expr-lang).
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// sumFormula returns the trigger names a scalingModifiers formula adds up;
// any other formula (a max, a product, a name twice, a name with '-',
// which expr reads as a minus) is an error.
func sumFormula(formula string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	for _, term := range strings.Split(formula, "+") {
		term = strings.TrimSpace(term)
		if !identifier.MatchString(term) || seen[term] {
			return nil, fmt.Errorf("formula %q: term %q: want a sum of distinct trigger names", formula, term)
		}
		seen[term] = true
		names = append(names, term)
	}
	return names, nil
}

// kedaReplicas is what the HPA KEDA creates asks for: the formula over the
// triggers' values, divided by the AverageValue target, rounded up, within
// min and max replicas.
func kedaReplicas(so *ScaledObject, lags map[string]float64) (int32, error) {
	sm := so.Spec.Advanced.ScalingModifiers
	names, err := sumFormula(sm.Formula)
	if err != nil {
		return 0, err
	}
	target, err := strconv.ParseFloat(sm.Target, 64)
	if err != nil || target <= 0 {
		return 0, fmt.Errorf("scalingModifiers.target %q is not a positive number", sm.Target)
	}
	total := 0.0
	for _, n := range names {
		v, ok := lags[n]
		if !ok {
			return 0, fmt.Errorf("formula names %s, which is not a trigger", n)
		}
		total += v
	}
	n := int32(math.Ceil(total / target))
	return min(max(n, *so.Spec.MinReplicaCount), *so.Spec.MaxReplicaCount), nil
}

func TestSumFormula(t *testing.T) {
	tests := []struct {
		formula string
		want    []string
	}{
		{"a + b", []string{"a", "b"}},
		{"sub_1", []string{"sub_1"}},
		{"max(a, b)", nil},
		{"a + a", nil},
		{"repost-123 + b", nil},
		{"a * 2 + b", nil},
		{"a +", nil},
	}
	for _, tt := range tests {
		got, err := sumFormula(tt.formula)
		if (err != nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
			t.Errorf("sumFormula(%q) = %v, %v; want %v", tt.formula, got, err, tt.want)
		}
	}
}

func TestHorizontalPodAutoscaler(t *testing.T) {
	r := mustRender(t, "kustomize/overlays/hpa")
	_, cfg := mustWorkerConfig(t, r)
	if len(r.hpas) != 1 {
		t.Fatalf("%d HorizontalPodAutoscalers, want 1", len(r.hpas))
	}
	hpa := r.hpas[0]
	ref := hpa.Spec.ScaleTargetRef
	d := r.deployment(ref.Name)
	if ref.Kind != "Deployment" || d == nil {
		t.Fatalf("scaleTargetRef %+v is not a rendered Deployment", ref)
	}
	if d.Spec.Replicas != nil {
		t.Error("the scaled Deployment sets replicas: every apply would fight the HPA")
	}
	maxReplicas := hpa.Spec.MaxReplicas
	checkReplicaBounds(t, hpa.Spec.MinReplicas, &maxReplicas, concurrencyBudget(cfg))
	cpu := false
	for _, m := range hpa.Spec.Metrics {
		cpu = cpu || (m.Resource != nil && m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.AverageUtilization != nil)
	}
	if !cpu {
		t.Error("no CPU utilization metric")
	}
	if _, ok := d.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("CPU utilization needs a CPU request")
	}
}

// checkReplicaBounds: past the sum of maxConcurrency, a replica can never hold
// a Marketo call slot: it only waits in admission.
func checkReplicaBounds(t *testing.T, minReplicas, maxReplicas *int32, budget int) {
	t.Helper()
	if maxReplicas == nil {
		t.Fatal("no max replica count")
	}
	if int(*maxReplicas) > budget {
		t.Errorf("max replicas %d above the concurrency budget %d (sum of maxConcurrency)", *maxReplicas, budget)
	}
	if minReplicas == nil || *minReplicas < 1 || *minReplicas > *maxReplicas {
		t.Errorf("min replicas %v: want 1..%d", minReplicas, *maxReplicas)
	}
}
