package marketo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTokenFetchedOnceAndSentAsBearer(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	for range 5 {
		if _, err := c.SyncLeads(context.Background(), params("action", `"createOrUpdate"`), records(2)); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.identityCalls.Load(); n != 1 {
		t.Fatalf("identity calls = %d, want 1", n)
	}
	if p := f.authProblems(); len(p) > 0 {
		t.Fatalf("credential problems: %v", p)
	}
}

func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	f := newFake(t)
	f.identityGate = make(chan struct{})
	c := mustClient(t, testConfig(f.URL))
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := c.SyncLeads(context.Background(), nil, records(1))
			errs <- err
		})
	}
	// Hold identity until the first request is in, then let it answer.
	checkFor(t, 5*time.Second, func() error {
		if f.identityCalls.Load() == 0 {
			return errors.New("no identity call yet")
		}
		return nil
	})
	close(f.identityGate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.identityCalls.Load(); got != 1 {
		t.Fatalf("identity calls = %d, want 1", got)
	}
}

func TestReplicasShareTokenThroughStore(t *testing.T) {
	f := newFake(t)
	f.identityGate = make(chan struct{})
	store := NewMemoryTokenStore()
	cfg := testConfig(f.URL)
	cfg.Tokens = store
	a, b := mustClient(t, cfg), mustClient(t, cfg) // two "processes": separate singleflight
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { _, errA = a.SyncLeads(context.Background(), nil, records(1)) })
	checkFor(t, 5*time.Second, func() error {
		if f.identityCalls.Load() == 0 {
			return errors.New("a has not called identity")
		}
		return nil
	})
	wg.Go(func() { _, errB = b.SyncLeads(context.Background(), nil, records(1)) })
	// b finds the lock taken and polls; let identity answer a.
	checkFor(t, 5*time.Second, func() error {
		if _, ok := b.local.get(time.Now()); ok {
			return errors.New("b already has a token")
		}
		return nil
	})
	close(f.identityGate)
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("a: %v, b: %v", errA, errB)
	}
	if got := f.identityCalls.Load(); got != 1 {
		t.Fatalf("identity calls = %d, want 1", got)
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	f := newFake(t)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	cfg := testConfig(f.URL)
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := mustClient(t, cfg)
	ctx := context.Background()
	mustSync(t, c, 1)
	advance(3600*time.Second - 61*time.Second) // still before the 60 s margin
	mustSync(t, c, 1)
	if n := f.identityCalls.Load(); n != 1 {
		t.Fatalf("identity calls = %d before the margin, want 1", n)
	}
	advance(2 * time.Second) // inside the margin
	if _, err := c.SyncLeads(ctx, nil, records(1)); err != nil {
		t.Fatal(err)
	}
	if n := f.identityCalls.Load(); n != 2 {
		t.Fatalf("identity calls = %d inside the margin, want 2", n)
	}
}

func TestTokenExpiresInZeroAsksAgainAfterPause(t *testing.T) {
	f := newFake(t)
	f.expiresIn.Store(0)
	c := mustClient(t, testConfig(f.URL))
	c.zeroTries = 3
	_, err := c.SyncLeads(context.Background(), nil, records(1))
	var be *BadResponseError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want BadResponseError after repeated expires_in 0", err)
	}
	if n := f.identityCalls.Load(); n != 3 {
		t.Fatalf("identity calls = %d, want 3 (bounded)", n)
	}
}

func TestTokenExpiresInZeroPausesThenGetsFreshToken(t *testing.T) {
	f := newFake(t)
	f.zeroAnswers.Store(1) // the current token's last second, then a fresh one
	c := mustClient(t, testConfig(f.URL))
	c.zeroPause = 50 * time.Millisecond
	start := time.Now()
	mustSync(t, c, 1)
	if n := f.identityCalls.Load(); n != 2 {
		t.Fatalf("identity calls = %d, want 2", n)
	}
	if d := time.Since(start); d < c.zeroPause {
		t.Fatalf("asked again after %v, want a pause of at least %v", d, c.zeroPause)
	}
}

func TestIdentity401IsTyped(t *testing.T) {
	f := newFake(t)
	cfg := testConfig(f.URL)
	cfg.ClientSecret = "wrong-secret-value"
	c := mustClient(t, cfg)
	_, err := c.SyncLeads(context.Background(), nil, records(1))
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 401 || he.Path != IdentityPath {
		t.Fatalf("err = %#v", err)
	}
	if f.restCalls.Load() != 0 {
		t.Fatal("lead call sent without a token")
	}
}

func TestTokenRejectedOnceResends(t *testing.T) {
	for _, code := range []string{"601", "602"} {
		t.Run(code, func(t *testing.T) {
			f := newFake(t)
			c := mustClient(t, testConfig(f.URL))
			mustSync(t, c, 1)
			var calls atomic.Int64
			f.setREST(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					io.WriteString(w, `{"requestId":"r1","success":false,"errors":[{"code":"`+code+`","message":"Access token rejected"}]}`)
					return
				}
				f.defaultLeads(w, r)
			})
			resp, err := c.SyncLeads(context.Background(), nil, records(2))
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Results) != 2 || calls.Load() != 2 {
				t.Fatalf("results %d, calls %d", len(resp.Results), calls.Load())
			}
			if n := f.identityCalls.Load(); n != 2 {
				t.Fatalf("identity calls = %d, want 2", n)
			}
		})
	}
}

func TestTokenRejectedTwiceIsReturned(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	f.setREST(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"requestId":"r1","success":false,"errors":[{"code":601,"message":"Access token invalid"}]}`)
	})
	_, err := c.SyncLeads(context.Background(), nil, records(1))
	if !errors.Is(err, ErrAccessTokenInvalid) {
		t.Fatalf("err = %v, want 601", err)
	}
	if n := f.restCalls.Load(); n != 2 {
		t.Fatalf("lead calls = %d, want 2 (one resend)", n)
	}
}

func mustSync(tb testing.TB, c *Client, n int) *Response {
	tb.Helper()
	resp, err := c.SyncLeads(context.Background(), nil, records(n))
	if err != nil {
		tb.Fatalf("SyncLeads: %v", err)
	}
	return resp
}

func TestWaitForAnotherReplicaIsBounded(t *testing.T) {
	f := newFake(t)
	store := NewMemoryTokenStore()
	if _, ok, _ := store.Lock(context.Background(), testSub, time.Hour); !ok { // a replica stuck refreshing
		t.Fatal("lock")
	}
	cfg := testConfig(f.URL)
	cfg.Tokens = store
	c := mustClient(t, cfg)
	c.lockTTL, c.identityTimeout = 50*time.Millisecond, 50*time.Millisecond
	_, err := c.SyncLeads(context.Background(), nil, records(1))
	if !errors.Is(err, ErrTokenWait) || f.identityCalls.Load() != 0 {
		t.Fatalf("err = %v, identity calls %d", err, f.identityCalls.Load())
	}
}

func TestStaleRefreshLockIsTakenOver(t *testing.T) {
	f := newFake(t)
	store := NewMemoryTokenStore()
	if _, ok, _ := store.Lock(context.Background(), testSub, 100*time.Millisecond); !ok { // holder died
		t.Fatal("lock")
	}
	cfg := testConfig(f.URL)
	cfg.Tokens = store
	c := mustClient(t, cfg)
	mustSync(t, c, 1)
	if n := f.identityCalls.Load(); n != 1 {
		t.Fatalf("identity calls = %d", n)
	}
	tok, _, ok, _ := store.Load(context.Background(), testSub)
	if !ok || tok != f.currentToken() {
		t.Fatal("token not shared through the store")
	}
}

func TestRejectedTokenDroppedFromStoreOnlyIfUnchanged(t *testing.T) {
	f := newFake(t)
	store := NewMemoryTokenStore()
	cfg := testConfig(f.URL)
	cfg.Tokens = store
	c := mustClient(t, cfg)
	mustSync(t, c, 1)
	old := f.currentToken()
	ctx := context.Background()
	// Another replica already replaced the token: dropping the old one must keep it.
	must(t, store.Store(ctx, testSub, "fresh-from-replica", time.Now().Add(time.Hour)))
	c.invalidate(ctx, old, ErrAccessTokenInvalid)
	if tok, _, ok, _ := store.Load(ctx, testSub); !ok || tok != "fresh-from-replica" {
		t.Fatalf("store holds %q %v", tok, ok)
	}
	if _, ok := c.local.get(time.Now()); ok {
		t.Fatal("rejected token still cached")
	}
	c.invalidate(ctx, "fresh-from-replica", ErrAccessTokenInvalid)
	if _, _, ok, _ := store.Load(ctx, testSub); ok {
		t.Fatal("rejected token kept in the store")
	}
}

func TestPostNowWithoutATokenSendsNothing(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	_, err := c.PostNow(context.Background(), LeadsRequest{Endpoint: SyncLeadsPath, Input: records(1)})
	if !errors.Is(err, ErrNoToken) {
		t.Fatalf("err = %v, want ErrNoToken", err)
	}
	if f.identityCalls.Load() != 0 || f.restCalls.Load() != 0 {
		t.Fatalf("identity %d, lead calls %d: PostNow must make neither without a token in hand",
			f.identityCalls.Load(), f.restCalls.Load())
	}
}

func TestReadyThenPostNowMakesOnlyTheLeadCall(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	if err := c.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.PostNow(context.Background(), LeadsRequest{Endpoint: SyncLeadsPath, Input: records(2)})
	if err != nil || len(resp.Results) != 2 {
		t.Fatalf("PostNow: %v, %+v", err, resp)
	}
	if f.identityCalls.Load() != 1 || f.restCalls.Load() != 1 {
		t.Fatalf("identity %d, lead calls %d, want 1 and 1", f.identityCalls.Load(), f.restCalls.Load())
	}
}

// A rejected token is dropped and the answer returned: the resend is the
// caller's, after Ready and a new admission.
func TestPostNowReturnsATokenRejectionWithoutResending(t *testing.T) {
	f := newFake(t)
	c := mustClient(t, testConfig(f.URL))
	if err := c.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.setREST(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"requestId":"r1","success":false,"errors":[{"code":"602","message":"Access token expired"}]}`)
	})
	_, err := c.PostNow(context.Background(), LeadsRequest{Endpoint: SyncLeadsPath, Input: records(1)})
	if !errors.Is(err, ErrAccessTokenExpired) {
		t.Fatalf("err = %v, want 602", err)
	}
	if f.restCalls.Load() != 1 || f.identityCalls.Load() != 1 {
		t.Fatalf("lead calls %d, identity %d: want the one call and no refresh", f.restCalls.Load(), f.identityCalls.Load())
	}
	if _, err := c.PostNow(context.Background(), LeadsRequest{Endpoint: SyncLeadsPath, Input: records(1)}); !errors.Is(err, ErrNoToken) {
		t.Fatalf("after a rejection: %v, want ErrNoToken (the token was dropped)", err)
	}
}

// A token with less than ReadyFor left is waited out in Ready (Marketo
// issues the next one only once it expired), not handed to a call.
func TestReadyWaitsOutATokenAboutToExpire(t *testing.T) {
	f := newFake(t)
	f.expiresIn.Store(1) // usable for half a second after its margin
	c := mustClient(t, testConfig(f.URL))
	go func() {
		checkFor(t, 5*time.Second, func() error {
			if f.identityCalls.Load() == 0 {
				return errors.New("no identity call yet")
			}
			return nil
		})
		f.expiresIn.Store(3600)
	}()
	if err := c.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.identityCalls.Load(); n != 2 {
		t.Fatalf("identity calls = %d, want 2 (the short token waited out, then a fresh one)", n)
	}
	if _, ok := c.local.get(time.Now().Add(ReadyFor)); !ok {
		t.Fatal("Ready returned without a token usable for ReadyFor")
	}
}
