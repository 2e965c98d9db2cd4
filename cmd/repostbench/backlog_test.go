package main

import "testing"

// The backlog's repostd runs with the Deployment's memory limit, read from
// the manifest as the downward API would pass it.
func TestDeploymentMemoryLimit(t *testing.T) {
	n, err := deploymentMemoryLimit("../../"+deploymentFile, "repostd")
	if err != nil || n != 512<<20 {
		t.Fatalf("deploymentMemoryLimit = %d, %v; want 512Mi (%d)", n, err, 512<<20)
	}
	if _, err := deploymentMemoryLimit("../../"+deploymentFile, "nope"); err == nil {
		t.Error("no error for a container the Deployment does not have")
	}
}
