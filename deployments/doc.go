// Package deployments holds what ships repost, and the tests that prove it.
//
// The files beside this one are not Go: build.sh (the release build flags,
// run by the Dockerfile and by CI), check.sh (every kustomization through
// kubectl, the rules through promtool, run by CI), kustomize/ (a base, the
// keda, hpa and sidecar overlays, and examples/ with the Secret an operator
// creates), prometheus/alerts.yaml and grafana/repost-dashboard.json.
// The tests in this package render every overlay with the kustomize Go API and
// decode each object strictly into k8s.io/api types, check probes, security
// contexts and grace periods against the worker's configuration, parse the
// alert rules and dashboard queries, and build both binaries with build.sh.
//
// The Go API is small: MetricNames and DashboardMetricNames list the metrics
// the rules and dashboard select, so that a test scraping a running worker can
// check each one is exported, and FamilyName maps a histogram's series name to
// its family.
package deployments
