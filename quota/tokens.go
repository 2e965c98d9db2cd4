package quota

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/internal/randid"
)

// DefaultTokenMargin is how long before the expiry it was given a shared
// token leaves Redis. marketo.Client already stores the time until which a
// token may be used (its own TokenMargin taken off Marketo's expires_in), so
// this only absorbs clock differences between replicas.
const DefaultTokenMargin = 5 * time.Second

// TokenStoreOptions tune a RedisTokenStore.
type TokenStoreOptions struct {
	// Margin is subtracted from a token's expiry to get its TTL (DefaultTokenMargin).
	Margin time.Duration
	// Now is the clock that turns an expiry into a TTL (time.Now).
	Now func() time.Time
	// UnlockTimeout bounds the unlock call, which has no context (5 s).
	UnlockTimeout time.Duration
	// Secrets are the client secrets by subscription: the token is stored
	// sealed with a key derived from its subscription's secret. A
	// subscription missing here gets ErrNoSecret.
	Secrets map[string]string
}

// RedisTokenStore shares one Marketo access token per subscription between
// replicas, with a refresh lock so that N replicas make one identity call.
// It satisfies marketo.TokenStore. Tokens never appear in its errors.
type RedisTokenStore struct {
	c      redis.UniversalClient
	margin time.Duration
	now    func() time.Time
	unlock time.Duration
	seal   map[string]*sealer
}

// NewRedisTokenStore returns a token store on client (kept and closed by the caller).
func NewRedisTokenStore(client redis.UniversalClient, opts TokenStoreOptions) *RedisTokenStore {
	s := &RedisTokenStore{c: client, margin: opts.Margin, now: opts.Now, unlock: opts.UnlockTimeout}
	if s.margin <= 0 {
		s.margin = DefaultTokenMargin
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.unlock <= 0 {
		s.unlock = 5 * time.Second
	}
	s.seal = make(map[string]*sealer, len(opts.Secrets))
	for sub, secret := range opts.Secrets {
		if secret == "" {
			continue
		}
		if sl, err := newSealer(sub, secret); err == nil { // HKDF-SHA256 of 32 bytes cannot fail
			s.seal[sub] = sl
		}
	}
	return s
}

func (s *RedisTokenStore) sealer(sub string) (*sealer, error) {
	if err := checkSub(sub); err != nil {
		return nil, err
	}
	sl := s.seal[sub]
	if sl == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSecret, sub)
	}
	return sl, nil
}

// Load returns the shared token of sub; ok is false when there is none, or
// when the stored value does not open with this replica's secret (a rotated
// secret: the caller fetches a new token and stores it over the old one).
func (s *RedisTokenStore) Load(ctx context.Context, sub string) (token string, expires time.Time, ok bool, err error) {
	sl, err := s.sealer(sub)
	if err != nil {
		return "", time.Time{}, false, err
	}
	v, err := s.c.Get(ctx, tokenKey(sub)).Result()
	if isNil(err) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, unavailable("load token", sub, err)
	}
	token, expires, ok = sl.open(v)
	return token, expires, ok, nil
}

// Store shares token until expires, sealed; its TTL is expires − Margin. A
// token that would live less than that is not stored.
func (s *RedisTokenStore) Store(ctx context.Context, sub, token string, expires time.Time) error {
	sl, err := s.sealer(sub)
	if err != nil {
		return err
	}
	if token == "" || strings.ContainsAny(token, " ") {
		return fmt.Errorf("quota: store token %s: %w", sub, &LimitsError{Field: "token", Reason: "is empty or holds a space"})
	}
	ttl := expires.Sub(s.now()) - s.margin
	if ttl < time.Millisecond {
		return nil
	}
	if err := s.c.Set(ctx, tokenKey(sub), sl.seal(token, expires), ttl).Err(); err != nil {
		return unavailable("store token", sub, err)
	}
	return nil
}

// Drop deletes the shared token of sub if it is still token (a replica that
// saw 601/602 must not drop the fresh token another one just stored): the
// value is opened here, then deleted only if Redis still holds that value.
func (s *RedisTokenStore) Drop(ctx context.Context, sub, token string) error {
	sl, err := s.sealer(sub)
	if err != nil {
		return err
	}
	v, err := s.c.Get(ctx, tokenKey(sub)).Result()
	if isNil(err) {
		return nil
	}
	if err != nil {
		return unavailable("drop token", sub, err)
	}
	if cur, _, ok := sl.open(v); ok && cur != token {
		return nil
	}
	// Ours, or a value no replica can open any more: gone either way.
	if err := compareDeleteScript.Run(ctx, s.c, []string{tokenKey(sub)}, v).Err(); err != nil {
		return unavailable("drop token", sub, err)
	}
	return nil
}

// Lock takes the refresh lock of sub for ttl (SET NX PX). ok is false when
// another holder has it; unlock deletes it only while it is still this
// holder's, so a holder that outlived ttl cannot free a successor's lock.
func (s *RedisTokenStore) Lock(ctx context.Context, sub string, ttl time.Duration) (unlock func(), ok bool, err error) {
	if err := checkSub(sub); err != nil {
		return nil, false, err
	}
	if ttl < time.Millisecond {
		return nil, false, &LimitsError{Field: "ttl", Reason: fmt.Sprintf("is under 1ms (%s)", ttl)}
	}
	val := randid.Hex(12)
	ok, err = s.c.SetNX(ctx, tokenLockKey(sub), val, ttl).Result()
	if err != nil {
		return nil, false, unavailable("lock token", sub, err)
	}
	if !ok {
		return nil, false, nil
	}
	unlock = func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.unlock)
		defer cancel()
		// Best effort: on failure the lock expires after ttl.
		_ = compareDeleteScript.Run(ctx, s.c, []string{tokenLockKey(sub)}, val).Err()
	}
	return unlock, true, nil
}
