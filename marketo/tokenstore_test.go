package marketo

import (
	"context"
	"testing"
	"time"
)

func TestMemoryTokenStore(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	m := NewMemoryTokenStore()
	m.now = func() time.Time { return now }

	if _, _, ok, err := m.Load(ctx, "s"); ok || err != nil {
		t.Fatalf("empty store: ok %v err %v", ok, err)
	}
	must(t, m.Store(ctx, "s", "t1", now.Add(time.Minute)))
	if tok, exp, ok, _ := m.Load(ctx, "s"); !ok || tok != "t1" || !exp.Equal(now.Add(time.Minute)) {
		t.Fatalf("load = %q %v %v", tok, exp, ok)
	}
	if _, _, ok, _ := m.Load(ctx, "other"); ok {
		t.Fatal("subscriptions share a token")
	}
	must(t, m.Drop(ctx, "s", "stale"))
	if _, _, ok, _ := m.Load(ctx, "s"); !ok {
		t.Fatal("drop of another token deleted the stored one")
	}
	must(t, m.Drop(ctx, "s", "t1"))
	if _, _, ok, _ := m.Load(ctx, "s"); ok {
		t.Fatal("drop did not delete")
	}
	must(t, m.Store(ctx, "s", "t2", now.Add(time.Second)))
	now = now.Add(time.Second)
	if _, _, ok, _ := m.Load(ctx, "s"); ok {
		t.Fatal("expired token loaded")
	}
}

func TestMemoryTokenStoreLock(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	m := NewMemoryTokenStore()
	m.now = func() time.Time { return now }

	unlock1, ok, err := m.Lock(ctx, "s", 10*time.Second)
	if !ok || err != nil {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, _ := m.Lock(ctx, "s", 10*time.Second); ok {
		t.Fatal("lock taken twice")
	}
	if u, ok, _ := m.Lock(ctx, "other", time.Second); !ok {
		t.Fatal("lock shared between subscriptions")
	} else {
		u()
	}
	now = now.Add(10 * time.Second) // the holder died: its lease ran out
	unlock2, ok, _ := m.Lock(ctx, "s", 10*time.Second)
	if !ok {
		t.Fatal("expired lock not taken over")
	}
	unlock1() // late unlock of the expired holder must not free the new one
	if _, ok, _ := m.Lock(ctx, "s", 10*time.Second); ok {
		t.Fatal("stale unlock released another holder's lock")
	}
	unlock2()
	if u, ok, _ := m.Lock(ctx, "s", 10*time.Second); !ok {
		t.Fatal("lock not released")
	} else {
		u()
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
