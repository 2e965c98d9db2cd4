package security

import (
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/marketo/marketotest"
)

// A start that fails on a credential exits 1 and says why, without the
// credential it was given nor the right one: repostd's stderr is shown
// to whoever reads the pod's logs.
func TestFailedStartsHoldNoSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs repostd against real servers")
	}
	bin := mustRepostd(t)
	r := newRig(t, marketotest.Faults{})
	wrongNATS, wrongRedis := secret(t, "wrong-nats-PW-"), secret(t, "wrong-redis-PW-")
	tests := []struct {
		name     string
		opts     configOpts
		natsPW   string
		extraEnv []string // overrides of r.env: the later value wins
		wantText string   // what the error must say
	}{
		{name: "wrong NATS password", opts: configOpts{redisPassword: true, allowInsecure: true},
			natsPW: wrongNATS, wantText: "authorization"},
		{name: "wrong NATS password in the URL", natsPW: r.natsPassword, wantText: "authorization",
			opts: configOpts{natsURL: strings.Replace(r.natsURL, "tls://", "tls://"+natsUser+":"+wrongNATS+"@", 1),
				redisPassword: true, allowInsecure: true}},
		{name: "wrong Redis password in the URL",
			opts:   configOpts{redisURL: "rediss://:" + wrongRedis + "@" + r.redisAddr + "/0", allowInsecure: true},
			natsPW: r.natsPassword, wantText: "WRONGPASS"},
		{name: "wrong Redis password in redis.password", opts: configOpts{redisPassword: true, allowInsecure: true},
			natsPW: r.natsPassword, extraEnv: []string{"REDIS_PASSWORD=" + wrongRedis}, wantText: "WRONGPASS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := startRepostd(t, bin, r.config(t, tt.opts), append(r.env(tt.natsPW), tt.extraEnv...)...)
			start := time.Now()
			code := d.wait(t, 20*time.Second)
			out := d.stderr.String() + d.stdout.String()
			if code != 1 {
				t.Errorf("exit code %d, want 1; output:\n%s", code, tail(out, 3000))
			}
			if !strings.Contains(strings.ToLower(out), strings.ToLower(tt.wantText)) {
				t.Errorf("output does not say %q:\n%s", tt.wantText, tail(out, 3000))
			}
			secrets := r.secrets()
			secrets["the wrong NATS password"], secrets["the wrong Redis password"] = wrongNATS, wrongRedis
			if found := findSecrets(out, secrets); len(found) > 0 {
				t.Errorf("output holds %v:\n%s", found, out)
			}
			t.Logf("exit %d after %s: %s", code, time.Since(start).Round(time.Millisecond), lastLine(out))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
