package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/quota"
)

// withID is event i of kind ok, attempted at at, under another eventId.
func withID(i int, id string, at time.Time) fixture.Event {
	e := fixture.Build(i, fixture.KindOK, at, fixture.Sub)
	e.Data = []byte(strings.Replace(string(e.Data), `"eventId":"`+e.ID+`"`, `"eventId":"`+id+`"`, 1))
	e.ID = id
	return e
}

// A later success of a lead supersedes an older failed post-out, whether
// the success was repost's own or one DAP reports on the succeeded
// subject; a newer failed post-out is never superseded by older data.
func TestSupersededByALaterSuccess(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	store := quota.NewMemory(quota.MemoryOptions{})
	r.startReplica(store,
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

	// Our own repost of the 10:05 data supersedes the 10:00 failure...
	r.publish([]fixture.Event{withID(1, "new-1", t0.Add(5*time.Minute))})
	r.waitOutcomes(1, 20*time.Second)
	r.publish([]fixture.Event{withID(1, "old-1", t0)})
	r.waitOutcomes(2, 20*time.Second)
	// ...but not a 10:10 failure, which carries newer data.
	r.publish([]fixture.Event{withID(1, "newer-1", t0.Add(10*time.Minute))})
	r.waitOutcomes(3, 20*time.Second)

	// DAP reports a success of lead 2 at 10:30.
	notice, _ := json.Marshal(map[string]any{"leadId": "L-000002", "subscription": fixture.Sub, "at": t0.Add(30 * time.Minute)})
	if _, err := r.pub.JS.Publish(context.Background(), r.pub.Subjects.Succeeded(fixture.Sub), notice); err != nil {
		t.Fatal(err)
	}
	testenv.CheckFor(t, 10*time.Second, func() error {
		if _, ok, err := store.LastSuccess(context.Background(), fixture.Sub, "L-000002"); err != nil || !ok {
			return fmt.Errorf("success notice not recorded yet (%v)", err)
		}
		return nil
	})
	r.publish([]fixture.Event{withID(2, "before-2", t0.Add(20*time.Minute)), withID(3, "other-3", t0)})
	r.waitOutcomes(5, 20*time.Second)

	outs := r.outcomes()
	check := func(id string, kind repost.Kind, code policy.Code) {
		t.Helper()
		got := outs[id]
		if len(got) != 1 || got[0].Kind != kind || got[0].Code != code {
			t.Errorf("%s: %+v, want one %s %s", id, got, kind, code)
		}
	}
	check("new-1", repost.KindReposted, policy.CodeOK)
	check("old-1", repost.KindSkipped, policy.CodeSuperseded)
	check("newer-1", repost.KindReposted, policy.CodeOK)
	check("before-2", repost.KindSkipped, policy.CodeSuperseded)
	check("other-3", repost.KindReposted, policy.CodeOK)
}
