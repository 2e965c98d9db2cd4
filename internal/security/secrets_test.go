package security

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
)

// TestSecretsNeverEscape runs repostd, built from ./cmd/repostd, against
// NATS with TLS and a password, Redis with mutual TLS and AUTH, and the
// Marketo simulator with faults, over a mix of events that reposts, parks,
// retries, reauthenticates (tokens revoked mid-run), rejects invalid bodies
// and finally halts on a 603 whose message quotes the token and the secret.
// Then no credential (the Marketo client secret, every access token issued,
// the NATS password, the Redis password) may appear in the log, in any
// outcome, in any parked entry, in /metrics or in /readyz.
func TestSecretsNeverEscape(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs repostd against real servers")
	}
	bin := mustRepostd(t)
	r := newRig(t, marketotest.Faults{Seed: 8, Rate604: 0.15, Rate502: 0.1, RateHTML: 0.05, RateTruncated: 0.05})
	q := r.queue(t)
	httpAddr := testenv.FreeAddr(t)
	d := startRepostd(t, bin, r.config(t, configOpts{redisPassword: true, allowInsecure: true, httpAddr: httpAddr}),
		r.env(r.natsPassword)...)

	evs := fixture.Mix(400, 8, time.Now())
	publish(t, q, evs[:200])
	waitOutcomes(t, q, evs[:200], d)
	r.sim.RevokeTokens() // the next calls get 601: the client must reauthenticate
	publish(t, q, evs[200:])
	waitOutcomes(t, q, evs, d)

	// A halt whose 603 message quotes the credentials, as a careless proxy
	// might: it reaches the halt reason in /readyz and in the log.
	toks := r.tokens.tokens()
	r.sim.SetAccessDenied("Access denied for token " + strings.Join(toks, ",") + " client_secret=" + r.mktoSecret)
	publish(t, q, []fixture.Event{fixture.Build(1000, fixture.KindOK, time.Now(), fixture.Sub)})
	var readyz string
	testenv.CheckFor(t, 20*time.Second, func() error {
		_, body, err := get(context.Background(), "http://"+httpAddr+"/readyz")
		readyz = body
		if err == nil && !strings.Contains(body, `"halted"`) {
			return errorf("readyz not halted yet: %s", body)
		}
		return err
	})
	_, metrics, err := get(context.Background(), "http://"+httpAddr+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if code := d.stop(t, 15*time.Second); code != 0 {
		t.Errorf("repostd exit code %d after SIGTERM, want 0", code)
	}

	outcomes, parked := scan(t, q, true), scan(t, q, false)
	checkCoverage(t, r, outcomes, parked, d.stderr.String(), metrics)
	secrets := r.secrets()
	places := map[string]string{"repostd log": d.stderr.String() + d.stdout.String(), "/metrics": metrics, "/readyz": readyz}
	for _, o := range outcomes {
		places["outcome "+o.EventID] = o.raw
	}
	for i, p := range parked {
		places["parked entry "+p.EventID+"#"+itoa(i)] = p.raw
	}
	for where, text := range places {
		if found := findSecrets(text, secrets); len(found) > 0 {
			t.Errorf("%s holds %v", where, found)
		}
	}
	t.Logf("checked %d places (%d outcomes, %d parked, log %d bytes, metrics %d bytes) for %d secrets",
		len(places), len(outcomes), len(parked), len(d.stderr.String()), len(metrics), len(secrets))
}

// checkCoverage makes sure the run went through every path that handles a
// secret or an answer, so that the absence of leaks means something.
func checkCoverage(t *testing.T, r *rig, outcomes, parked []stored, log, metrics string) {
	t.Helper()
	kinds := map[string]int{}
	retried := 0
	for _, o := range outcomes {
		kinds[o.Outcome]++
		if o.Attempts > 1 {
			retried++
		}
	}
	for _, k := range []string{"reposted", "parked", "skipped", "rejected"} {
		if kinds[k] == 0 {
			t.Errorf("no %s outcome: %v", k, kinds)
		}
	}
	st := r.sim.Stats()
	if n := len(r.tokens.tokens()); n < 2 {
		t.Errorf("%d access tokens issued, want a second one after the revocation", n)
	}
	if st.ByCode["601"] == 0 {
		t.Errorf("no 601 answered after the revocation: %v", st.ByCode)
	}
	if st.ByCode["603"] == 0 {
		t.Errorf("no 603 answered: %v", st.ByCode)
	}
	if retried == 0 || st.ByCode["604"]+st.ByCode["502"]+st.ByCode["html"]+st.ByCode["truncated"] == 0 {
		t.Errorf("no retry happened: %d outcomes after more than one attempt, answers %v", retried, st.ByCode)
	}
	if len(parked) == 0 {
		t.Error("nothing parked")
	}
	for _, want := range []string{`"configuration"`, `"marketo call"`, `"response"`, "subscription halted",
		`"path":"/identity/oauth/token"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s: the check over it would prove little", want)
		}
	}
	if !strings.Contains(metrics, "repost_events_total") {
		t.Error("/metrics lacks repost_events_total")
	}
	t.Logf("outcomes %v (%d retried); Marketo answers %v; identity calls %d", kinds, retried, st.ByCode, st.IdentityCalls)
}
