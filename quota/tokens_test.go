package quota_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

const secretToken = "cdf01657-110d-4155-99a7-f986b2ff13a0:int"

func TestRedisTokenStore(t *testing.T) {
	srv := mustRedisServer(t, false)
	c := srv.mustClient(t)
	now := time.Now()
	a := quota.NewRedisTokenStore(c, quota.TokenStoreOptions{Margin: time.Minute, Now: func() time.Time { return now }})
	b := quota.NewRedisTokenStore(srv.mustClient(t), quota.TokenStoreOptions{Margin: time.Minute})
	ctx := context.Background()
	if _, _, ok, err := b.Load(ctx, sub); ok || err != nil {
		t.Fatalf("load before store: ok=%v err=%v", ok, err)
	}
	exp := now.Add(time.Hour).Truncate(time.Microsecond)
	mustDo(t, a.Store(ctx, sub, secretToken, exp))
	tok, gotExp, ok, err := b.Load(ctx, sub)
	if err != nil || !ok || tok != secretToken || !gotExp.Equal(exp) {
		t.Fatalf("load = %q %s %v %v", tok, gotExp, ok, err)
	}
	ttl := c.PTTL(ctx, "repost:{"+sub+"}:token").Val()
	if want := 59 * time.Minute; ttl > want || ttl < want-2*time.Second {
		t.Errorf("token TTL %s, want expires − margin = %s", ttl, want)
	}

	mustDo(t, b.Drop(ctx, sub, "an-older-token"))
	if _, _, ok, _ := a.Load(ctx, sub); !ok {
		t.Fatal("dropping another token deleted the current one")
	}
	mustDo(t, b.Drop(ctx, sub, secretToken))
	if _, _, ok, _ := a.Load(ctx, sub); ok {
		t.Fatal("token still there after Drop")
	}

	mustDo(t, a.Store(ctx, sub, secretToken, now.Add(30*time.Second))) // inside the margin
	if _, _, ok, _ := b.Load(ctx, sub); ok {
		t.Error("a token expiring within the margin was stored")
	}
	if err := a.Store(ctx, "", secretToken, exp); !errors.Is(err, quota.ErrInvalidSubscription) {
		t.Errorf("store with no subscription: %v", err)
	}
}

func TestRedisTokenLock(t *testing.T) {
	srv := mustRedisServer(t, false)
	a := quota.NewRedisTokenStore(srv.mustClient(t), quota.TokenStoreOptions{})
	b := quota.NewRedisTokenStore(srv.mustClient(t), quota.TokenStoreOptions{})
	ctx := context.Background()
	unlockA, ok, err := a.Lock(ctx, sub, time.Minute)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if _, ok, err := b.Lock(ctx, sub, time.Minute); ok || err != nil {
		t.Fatalf("second lock: ok=%v err=%v, want held", ok, err)
	}
	unlockA()
	unlockB, ok, err := b.Lock(ctx, sub, time.Minute)
	if err != nil || !ok {
		t.Fatalf("lock after unlock: %v %v", ok, err)
	}
	defer unlockB()

	// A holder that outlives its lock cannot free its successor's.
	other := "999-XYZ-999"
	stale, ok, _ := a.Lock(ctx, other, 100*time.Millisecond)
	if !ok {
		t.Fatal("lock other")
	}
	var fresh func()
	checkFor(t, 3*time.Second, func() error {
		f, ok, err := b.Lock(ctx, other, time.Minute)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("still held")
		}
		fresh = f
		return nil
	})
	stale()
	if _, ok, _ := a.Lock(ctx, other, time.Minute); ok {
		t.Fatal("a stale unlock freed the successor's lock")
	}
	fresh()
}

// TestRedisTokenNeverInErrors: with Redis down, errors name the operation
// and the subscription, never the token.
func TestRedisTokenNeverInErrors(t *testing.T) {
	srv := mustRedisServer(t, false)
	s := quota.NewRedisTokenStore(srv.mustClient(t), quota.TokenStoreOptions{})
	ctx := context.Background()
	srv.stop()
	errs := []error{
		s.Store(ctx, sub, secretToken, time.Now().Add(time.Hour)),
		s.Drop(ctx, sub, secretToken),
		s.Store(ctx, sub, secretToken+" x", time.Now().Add(time.Hour)),
	}
	_, _, _, err := s.Load(ctx, sub)
	errs = append(errs, err)
	_, _, err = s.Lock(ctx, sub, time.Second)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("call %d succeeded with Redis down", i)
			continue
		}
		if strings.Contains(err.Error(), secretToken) || strings.Contains(err.Error(), "cdf01657") {
			t.Errorf("error leaks the token: %v", err)
		}
	}
}
