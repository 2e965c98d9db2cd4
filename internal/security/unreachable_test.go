package security

import (
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
)

// A repostd still waiting for an unreachable NATS whose URL carries the
// password, stopped by SIGTERM, says why it gave up without the password.
func TestUnreachableNATSURLHoldsNoPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs repostd")
	}
	bin := mustRepostd(t)
	r := newRig(t, marketotest.Faults{})
	pw := secret(t, "url-nats-PW-")
	closed := testenv.FreeAddr(t) // nothing listens there
	d := startRepostd(t, bin, r.config(t, configOpts{natsURL: "tls://" + natsUser + ":" + pw + "@" + closed,
		redisPassword: true, allowInsecure: true}), r.env(r.natsPassword)...)
	testenv.CheckFor(t, 10*time.Second, func() error {
		if !strings.Contains(d.stderr.String(), `"configuration"`) {
			return errorf("repostd has not logged its configuration yet")
		}
		return nil
	})
	code := d.stop(t, 10*time.Second)
	out := d.stderr.String() + d.stdout.String()
	if code != 1 || !strings.Contains(out, "NATS") {
		t.Errorf("exit %d, want 1 saying NATS was not reachable; output:\n%s", code, out)
	}
	secrets := r.secrets()
	secrets["the password of the NATS URL"] = pw
	if found := findSecrets(out, secrets); len(found) > 0 {
		t.Errorf("output holds %v:\n%s", found, out)
	}
	t.Logf("exit %d: %s", code, lastLine(out))
}
