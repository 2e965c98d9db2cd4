package marketo

import (
	"context"
	"sync"
	"time"
)

// TokenStore shares a subscription's access token between the clients of
// every replica, so that they use one token and refresh it one at a time.
// The Redis implementation lives in package quota; NewMemoryTokenStore serves
// one process.
type TokenStore interface {
	// Load returns the stored token and the time until which it may be used
	// (the refresh margin is already taken off); ok is false when there is none.
	Load(ctx context.Context, sub string) (token string, expires time.Time, ok bool, err error)
	// Store saves token, usable until expires.
	Store(ctx context.Context, sub, token string, expires time.Time) error
	// Drop deletes the stored token only if it is still token (compare and
	// delete), so that a replica dropping a rejected token cannot delete the
	// fresh one another replica just stored.
	Drop(ctx context.Context, sub, token string) error // compare-and-delete
	// Lock takes the subscription's refresh lock for at most ttl. ok is false
	// when another holder has it; unlock releases it only if still held by
	// this caller.
	Lock(ctx context.Context, sub string, ttl time.Duration) (unlock func(), ok bool, err error)
}

// MemoryTokenStore is a TokenStore for one process.
type MemoryTokenStore struct {
	mu     sync.Mutex
	now    func() time.Time
	tokens map[string]memToken
	locks  map[string]memLock
	seq    uint64
}

type memToken struct {
	token   string
	expires time.Time
}

type memLock struct {
	id    uint64
	until time.Time
}

var _ TokenStore = (*MemoryTokenStore)(nil)

// NewMemoryTokenStore returns an empty in-memory TokenStore.
func NewMemoryTokenStore() *MemoryTokenStore {
	return &MemoryTokenStore{now: time.Now, tokens: map[string]memToken{}, locks: map[string]memLock{}}
}

// Load implements TokenStore. An expired token is not returned.
func (m *MemoryTokenStore) Load(_ context.Context, sub string) (string, time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[sub]
	if !ok || !m.now().Before(t.expires) {
		return "", time.Time{}, false, nil
	}
	return t.token, t.expires, true, nil
}

// Store implements TokenStore.
func (m *MemoryTokenStore) Store(_ context.Context, sub, token string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[sub] = memToken{token: token, expires: expires}
	return nil
}

// Drop implements TokenStore.
func (m *MemoryTokenStore) Drop(_ context.Context, sub, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[sub]; ok && t.token == token {
		delete(m.tokens, sub)
	}
	return nil
}

// Lock implements TokenStore.
func (m *MemoryTokenStore) Lock(_ context.Context, sub string, ttl time.Duration) (func(), bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if l, ok := m.locks[sub]; ok && now.Before(l.until) {
		return nil, false, nil
	}
	m.seq++
	id := m.seq
	m.locks[sub] = memLock{id: id, until: now.Add(ttl)}
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if l, ok := m.locks[sub]; ok && l.id == id {
			delete(m.locks, sub)
		}
	}, true, nil
}
