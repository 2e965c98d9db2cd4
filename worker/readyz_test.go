package worker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

// /readyz reports Redis: while the limiter's Redis is down (SIGKILL) the
// replica is not ready and admits nothing; restarted on the same port, it
// is ready again and reposts what was published meanwhile.
func TestReadyzReportsRedis(t *testing.T) {
	rd := testenv.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = rc.Close() })
	store := quota.NewRedis(rc, quota.RedisOptions{})
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	reg := prometheus.NewRegistry()
	rep := r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{})
	srv := httptest.NewServer(rep.w.Handler(reg))
	t.Cleanup(srv.Close)

	ready := func(wantCode int, wantRedis string) func() error {
		return func() error {
			code, body := status(t, srv.URL+"/readyz")
			if code != wantCode || !strings.Contains(body, `"redis":"`+wantRedis+`"`) {
				return fmt.Errorf("/readyz %d %s, want %d with redis %q", code, body, wantCode, wantRedis)
			}
			return nil
		}
	}
	testenv.CheckFor(t, 10*time.Second, ready(http.StatusOK, "ok"))

	rd.Stop()
	testenv.CheckFor(t, 10*time.Second, ready(http.StatusServiceUnavailable, "unreachable"))
	events := make([]fixture.Event, 50)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	r.publish(events)
	if _, err := store.Admit(context.Background(), fixture.Sub, defaultLimits); !errors.Is(err, quota.ErrUnavailable) {
		t.Fatalf("admit while redis is down: %v, want ErrUnavailable", err)
	}
	if c := sim.Stats().Calls; c != 0 {
		t.Fatalf("%d Marketo calls while redis was down", c)
	}

	if err := rd.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.CheckFor(t, 10*time.Second, ready(http.StatusOK, "ok"))
	r.waitOutcomes(len(events), 30*time.Second)
	for id, outs := range r.outcomes() {
		if len(outs) != 1 || outs[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v, want one reposted outcome", id, outs)
		}
	}
}

func status(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := httpGet(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
