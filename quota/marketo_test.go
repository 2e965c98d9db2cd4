package quota_test

import (
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/quota"
)

// quota does not import marketo; its token store must still fit.
var _ marketo.TokenStore = (*quota.RedisTokenStore)(nil)
