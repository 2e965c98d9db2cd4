package connect

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// RedisLogger carries go-redis's own messages (pool, Sentinel and Cluster
// events) as zap lines instead of plain text on stderr. It implements
// go-redis's logging interface, the argument of redis.SetLogger.
type RedisLogger struct{ Log *zap.Logger }

// Printf implements go-redis's logging interface: one warning per message,
// the text in "msg" under the logger "redis". go-redis logs only what went
// wrong or changed (a failover, a dropped connection), hence warnings.
func (l RedisLogger) Printf(_ context.Context, format string, v ...any) {
	l.Log.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)), zap.String("source", "go-redis"))
}

// LogRedisTo sends every go-redis message of the process to log (go-redis's
// logger is global).
func LogRedisTo(log *zap.Logger) {
	redis.SetLogger(RedisLogger{Log: log.Named("redis").WithOptions(zap.AddCallerSkip(2))})
}
