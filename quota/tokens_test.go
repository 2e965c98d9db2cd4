package quota_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

const secretToken = "cdf01657-110d-4155-99a7-f986b2ff13a0:int"

// clientSecrets is what every replica's configuration holds and Redis does not.
var clientSecrets = map[string]string{sub: "s3cr3t-client-secret", "999-XYZ-999": "other-secret"}

func TestRedisTokenStore(t *testing.T) {
	srv := mustRedisServer(t, false)
	c := srv.mustClient(t)
	now := time.Now()
	a := quota.NewRedisTokenStore(c, quota.TokenStoreOptions{Margin: time.Minute, Now: func() time.Time { return now }, Secrets: clientSecrets})
	b := quota.NewRedisTokenStore(srv.mustClient(t), quota.TokenStoreOptions{Margin: time.Minute, Secrets: clientSecrets})
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
	a := quota.NewRedisTokenStore(srv.mustClient(t), quota.TokenStoreOptions{Secrets: clientSecrets})
	b := quota.NewRedisTokenStore(srv.mustClient(t), quota.TokenStoreOptions{Secrets: clientSecrets})
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
	s := quota.NewRedisTokenStore(srv.mustClient(t), quota.TokenStoreOptions{Secrets: clientSecrets})
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

// TestRedisTokenEncrypted: the token is a bearer credential; what Redis
// holds is AES-GCM sealed with a key derived from the client secret, so a
// raw read of the key (or a dump of Redis) shows no token text, and a store
// with another secret cannot read it.
func TestRedisTokenEncrypted(t *testing.T) {
	srv := mustRedisServer(t, false)
	c := srv.mustClient(t)
	ctx := context.Background()
	a := quota.NewRedisTokenStore(c, quota.TokenStoreOptions{Secrets: clientSecrets})
	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	mustDo(t, a.Store(ctx, sub, secretToken, exp))

	raw, err := c.Get(ctx, "repost:{"+sub+"}:token").Result()
	if err != nil {
		t.Fatalf("raw read: %v", err)
	}
	for _, part := range append(strings.Split(secretToken, "-"), secretToken, clientSecrets[sub]) {
		if strings.Contains(raw, part) {
			t.Fatalf("Redis holds token text %q: %q", part, raw)
		}
	}
	if strings.Contains(raw, strconv.FormatInt(exp.UnixMicro(), 10)) {
		t.Errorf("Redis holds the expiry in clear: %q", raw)
	}

	b := quota.NewRedisTokenStore(srv.mustClient(t), quota.TokenStoreOptions{Secrets: clientSecrets})
	if tok, got, ok, err := b.Load(ctx, sub); err != nil || !ok || tok != secretToken || !got.Equal(exp) {
		t.Fatalf("another replica loads %q %s %v %v, want the token", tok, got, ok, err)
	}
	rotated := quota.NewRedisTokenStore(c, quota.TokenStoreOptions{Secrets: map[string]string{sub: "rotated"}})
	if tok, _, ok, err := rotated.Load(ctx, sub); ok || err != nil || tok != "" {
		t.Fatalf("a store with another secret loads %q ok=%v err=%v, want no token", tok, ok, err)
	}
	// The sealed value is bound to its key: copied under another
	// subscription with the same secret, it does not open.
	same := map[string]string{sub: "x", "999-XYZ-999": "x"}
	x := quota.NewRedisTokenStore(c, quota.TokenStoreOptions{Secrets: same})
	mustDo(t, x.Store(ctx, sub, secretToken, exp))
	sealed := c.Get(ctx, "repost:{"+sub+"}:token").Val()
	mustDo(t, c.Set(ctx, "repost:{999-XYZ-999}:token", sealed, time.Hour).Err())
	if _, _, ok, err := x.Load(ctx, "999-XYZ-999"); ok || err != nil {
		t.Fatalf("a sealed token moved to another key opened: ok=%v err=%v", ok, err)
	}

	// Drop compares against the decrypted token.
	mustDo(t, x.Drop(ctx, sub, "an-older-token"))
	if _, _, ok, _ := x.Load(ctx, sub); !ok {
		t.Fatal("dropping another token deleted the current one")
	}
	mustDo(t, x.Drop(ctx, sub, secretToken))
	if n := c.Exists(ctx, "repost:{"+sub+"}:token").Val(); n != 0 {
		t.Fatal("token still there after Drop")
	}

	none := quota.NewRedisTokenStore(c, quota.TokenStoreOptions{})
	if err := none.Store(ctx, sub, secretToken, exp); !errors.Is(err, quota.ErrNoSecret) {
		t.Errorf("store without a secret: %v, want ErrNoSecret", err)
	}
	if _, _, _, err := none.Load(ctx, sub); !errors.Is(err, quota.ErrNoSecret) {
		t.Errorf("load without a secret: %v, want ErrNoSecret", err)
	}
}
