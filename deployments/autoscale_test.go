package deployments

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"

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
