#!/bin/sh
# The manifests through the real tools, as CI runs them (.ci/run, make
# check-deployments): `kubectl kustomize` renders every kustomization and
# `promtool check rules` reads the alert rules. `go test ./deployments`
# checks much more (strict decoding, probes, rule evaluation); this proves
# the same files load in the tools an operator uses.
#
# kubectl's embedded kustomize must be v5 (kubectl >= 1.27): Debian 12's
# kubernetes-client (1.20, kustomize v2) refuses the overlays' `labels:`.
# Without such a kubectl, the kustomize CLI of the same version as the
# kustomize API in go.mod is built from the Go module proxy.
set -eu
cd "$(dirname "$0")"

KUSTOMIZE_CLI=sigs.k8s.io/kustomize/kustomize/v5@v5.8.2 # kustomize/api v0.21.2, as in go.mod

render() {
	if kubectl version --client 2>/dev/null | grep -q '^Kustomize Version: v5'; then
		kubectl kustomize "$1"
	else
		go run "$KUSTOMIZE_CLI" build "$1"
	fi
}

if ! kubectl version --client 2>/dev/null | grep -q '^Kustomize Version: v5'; then
	echo "check.sh: no kubectl with kustomize v5; using $KUSTOMIZE_CLI" >&2
fi
for dir in kustomize/base kustomize/overlays/*/; do
	dir=${dir%/}
	out=$(render "$dir")
	echo "rendered $dir: $(printf '%s\n' "$out" | grep -c '^kind: ') objects"
done
promtool check rules prometheus/alerts.yaml
