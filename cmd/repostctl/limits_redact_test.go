package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/testenv"
)

// An unreachable Redis is reported without the password of its URL nor
// redis.password.
func TestLimitStoreErrorHoldsNoPassword(t *testing.T) {
	cfg := config.Default()
	cfg.Redis.URL = config.URL("redis://:url-SECRET@" + testenv.FreeAddr(t) + "/0") // nothing listens there
	cfg.Redis.Password = "cfg-SECRET"
	e := &env{now: time.Now}
	_, _, err := e.openLimitStore(context.Background(), &cfg)
	if err == nil || !strings.Contains(err.Error(), "not reachable") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %v, want 'not reachable' without a password", err)
	}
}
