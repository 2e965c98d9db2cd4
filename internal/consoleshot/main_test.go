package main

import (
	"strings"
	"testing"
)

// The lines repostd demo prints (cmd/repostd demo.go, demo_drive.go).
const demoOut = `repost demo — embedded NATS, in-process limits, Marketo simulator at http://127.0.0.1:40001
data: /tmp/d   log: /tmp/d/repostd.log

console: http://127.0.0.1:40002/ui/ (read-only)

[  1.0s]   120/3000 done | reposted   100  parked   20  skipped   0  rejected   0 | Marketo calls   2  leads/call  60.0
[  9.0s]  1499/3000 done | reposted  1000  parked  499  skipped   0  rejected   0 | Marketo calls  10  leads/call 150.0
[ 10.0s]  1500/3000 done | reposted  1000  parked  500  skipped   0  rejected   0 | Marketo calls  11  leads/call 136.4
`

func TestWaitForReadsTheDemosOutput(t *testing.T) {
	url, err := waitFor(strings.NewReader(demoOut), 3000, 0.5)
	if err != nil || url != "http://127.0.0.1:40002/ui/" {
		t.Errorf("waitFor = %q, %v", url, err)
	}
	if _, err := waitFor(strings.NewReader(demoOut), 3000, 0.6); err == nil {
		t.Error("waitFor found 60% done in a demo that ended at 50%")
	}
	if _, err := waitFor(strings.NewReader("[  1.0s]  3000/3000 done |\n"), 3000, 0.5); err == nil || !strings.Contains(err.Error(), "no console URL") {
		t.Errorf("no console line: %v", err)
	}
}
