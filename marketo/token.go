package marketo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// IdentityPath is the token endpoint under Config.Endpoint.
const IdentityPath = "/identity/oauth/token"

// tokenCache is the client's own copy of the shared token, so that a call
// does not ask the TokenStore (Redis) every time.
type tokenCache struct {
	mu    sync.RWMutex
	token string
	until time.Time
}

func (t *tokenCache) get(now time.Time) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.token, t.token != "" && now.Before(t.until)
}

func (t *tokenCache) set(token string, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.token, t.until = token, until
}

// clear forgets token if it is still the cached one.
func (t *tokenCache) clear(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == token {
		t.token, t.until = "", time.Time{}
	}
}

// ReadyFor is how long a token must stay usable for Ready to be satisfied:
// longer than the few milliseconds between an admission and its call.
const ReadyFor = time.Second

// ErrNoToken is PostNow's refusal when no usable access token is in hand
// (Ready was not called, or too long ago): nothing was sent.
var ErrNoToken = errors.New("marketo: no access token in hand")

// Ready makes sure an access token usable for at least ReadyFor is in hand,
// so that a PostNow right after it leaves at once. Every wait of a refresh
// (identity, another replica's refresh, Marketo's expires_in 0 pause, the
// end of a token that has too little left) is spent here. Call it before
// asking the limiter to admit a call.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.tokenFor(ctx, ReadyFor)
	return err
}

// accessToken returns a usable token: the cached one, else the shared one,
// else a new one from identity.
func (c *Client) accessToken(ctx context.Context) (string, error) { return c.tokenFor(ctx, 0) }

// tokenFor returns a token usable for at least need. Concurrent callers of
// one process share one refresh (singleflight); replicas share one through
// the TokenStore lock.
func (c *Client) tokenFor(ctx context.Context, need time.Duration) (string, error) {
	if tok, ok := c.local.get(c.now().Add(need)); ok {
		return tok, nil
	}
	key := "token"
	if need > 0 {
		key = "token+" + need.String()
	}
	// The refresh outlives a caller that gives up: others may be waiting on it.
	ch := c.sf.DoChan(key, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.lockTTL+c.identityTimeout)
		defer cancel()
		return c.refresh(rctx, need)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", &NetError{Method: "GET", Path: IdentityPath, Err: ctx.Err()}
	}
}

// refresh takes the shared token, or the lock to fetch one, or waits for the
// replica holding the lock to store one.
func (c *Client) refresh(ctx context.Context, need time.Duration) (string, error) {
	for {
		if tok, ok, err := c.loadShared(ctx, need); err != nil || ok {
			return tok, err
		}
		unlock, ok, err := c.tokens.Lock(ctx, c.cfg.Subscription, c.lockTTL)
		if err != nil {
			return "", fmt.Errorf("marketo: token store lock: %w", err)
		}
		if ok {
			return c.refreshLocked(ctx, unlock, need)
		}
		t := time.NewTimer(c.pollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ErrTokenWait
		case <-t.C:
		}
	}
}

func (c *Client) refreshLocked(ctx context.Context, unlock func(), need time.Duration) (string, error) {
	defer unlock()
	if tok, ok, err := c.loadShared(ctx, need); err != nil || ok {
		return tok, err
	}
	tok, until, err := c.fetchToken(ctx, need)
	if err != nil {
		return "", err
	}
	if err := c.tokens.Store(ctx, c.cfg.Subscription, tok, until); err != nil {
		c.log.Warn("marketo token store failed", zap.String("subscription", c.cfg.Subscription), zap.String("error", c.redactor.string(err.Error())))
	}
	c.local.set(tok, until)
	return tok, nil
}

// loadShared reads the TokenStore; ok only for a token usable for need more.
func (c *Client) loadShared(ctx context.Context, need time.Duration) (string, bool, error) {
	tok, until, ok, err := c.tokens.Load(ctx, c.cfg.Subscription)
	if err != nil {
		return "", false, fmt.Errorf("marketo: token store load: %w", err)
	}
	if !ok || tok == "" || !c.now().Add(need).Before(until) {
		return "", false, nil
	}
	c.redactor.remember(tok)
	c.local.set(tok, until)
	return tok, true, nil
}

// invalidate forgets a token Marketo rejected, here and in the shared store
// (only if no replica has replaced it yet).
func (c *Client) invalidate(ctx context.Context, token string, cause error) {
	c.local.clear(token)
	if err := c.tokens.Drop(ctx, c.cfg.Subscription, token); err != nil {
		c.log.Warn("marketo token store drop failed", zap.String("subscription", c.cfg.Subscription), zap.String("error", c.redactor.string(err.Error())))
	}
	c.log.Info("marketo access token rejected, reauthenticating",
		zap.String("subscription", c.cfg.Subscription), zap.String("reason", c.redactor.string(cause.Error())))
}

// fetchToken asks identity for a token usable for at least need. Marketo
// hands out the current token with its remaining lifetime, which can be 0:
// then it pauses and asks again (a bounded number of times) rather than
// caching a dead token. A token with less than need left is waited out the
// same way: Marketo issues the next one only once it has expired.
func (c *Client) fetchToken(ctx context.Context, need time.Duration) (string, time.Time, error) {
	for i := 1; ; i++ {
		start := c.now()
		tok, life, err := c.identity(ctx)
		if err != nil {
			return "", time.Time{}, err
		}
		pause := c.zeroPause
		if life > 0 {
			margin := min(c.cfg.TokenMargin, life/2)
			until := start.Add(life - margin)
			if need <= 0 || !c.now().Add(need).After(until) {
				c.log.Info("marketo access token obtained", zap.String("subscription", c.cfg.Subscription),
					zap.Duration("expiresIn", life))
				return tok, until, nil
			}
			pause = life - c.now().Sub(start)
			c.log.Info("marketo access token about to expire, waiting for the next one", zap.String("subscription", c.cfg.Subscription),
				zap.Duration("expiresIn", life))
		} else {
			c.log.Info("marketo access token expires now, asking again", zap.String("subscription", c.cfg.Subscription),
				zap.Duration("pause", pause))
		}
		if i >= c.zeroTries {
			return "", time.Time{}, &BadResponseError{Status: 200, Reason: fmt.Sprintf("identity answered an expiring token %d times", i)}
		}
		t := time.NewTimer(max(pause, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", time.Time{}, &NetError{Method: "GET", Path: IdentityPath, Err: ctx.Err()}
		case <-t.C:
		}
	}
}

type identityAnswer struct {
	AccessToken string      `json:"access_token"`
	TokenType   string      `json:"token_type"`
	ExpiresIn   json.Number `json:"expires_in"`
	Scope       string      `json:"scope"`
	Error       string      `json:"error"`
	Description string      `json:"error_description"`
}

// identity makes one identity call. The credentials travel as query
// parameters, as Marketo's identity API expects; they never reach a record,
// an error or a log.
func (c *Client) identity(ctx context.Context) (string, time.Duration, error) {
	q := "grant_type=client_credentials&client_id=" + url.QueryEscape(c.cfg.ClientID) +
		"&client_secret=" + url.QueryEscape(c.cfg.ClientSecret)
	ex := exchange{method: "GET", path: IdentityPath, query: q, timeout: c.identityTimeout}
	var tok string
	var life time.Duration
	_, err := c.exchange(ctx, ex, func(status int, body []byte) (*Response, error) {
		var err error
		tok, life, err = c.parseIdentity(status, body)
		return &Response{Success: err == nil}, err
	})
	return tok, life, err
}

func (c *Client) parseIdentity(status int, body []byte) (string, time.Duration, error) {
	if status != 200 {
		return "", 0, &HTTPError{Status: status, Method: "GET", Path: IdentityPath, Body: c.redactor.snippet(body)}
	}
	if err := checkJSONBody(status, body, c.redactor); err != nil {
		return "", 0, err
	}
	var a identityAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return "", 0, badJSON(status, body, err, c.redactor)
	}
	if a.AccessToken != "" {
		c.redactor.remember(a.AccessToken)
	}
	if a.Error != "" {
		return "", 0, &BadResponseError{Status: status, Reason: c.redactor.string("identity error " + a.Error + ": " + a.Description)}
	}
	if a.AccessToken == "" || strings.ContainsAny(a.AccessToken, " \r\n") {
		return "", 0, &BadResponseError{Status: status, Reason: "identity answer without a usable access_token"}
	}
	if a.Scope != "" {
		c.scope.Store(&a.Scope)
	}
	secs, err := a.ExpiresIn.Float64()
	if err != nil || secs < 0 {
		return "", 0, &BadResponseError{Status: status, Reason: "identity answer without a valid expires_in"}
	}
	return a.AccessToken, time.Duration(secs * float64(time.Second)), nil
}

// isTokenRejected reports a 601 or 602.
func isTokenRejected(err error) bool {
	return errors.Is(err, ErrAccessTokenInvalid) || errors.Is(err, ErrAccessTokenExpired)
}
