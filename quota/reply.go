package quota

import (
	"errors"

	"fmt"
	"github.com/redis/go-redis/v9"
	"strconv"
)

// reply is a script's array answer: integers and strings mixed.
type reply []any

// check verifies the length and the day-pick status (-1: the store's clock
// is outside the four days this process sent).
func (r reply) check(n int) error {
	if len(r) < n {
		return fmt.Errorf("script answered %d values, want %d", len(r), n)
	}
	if r.int(0) == -1 {
		return fmt.Errorf("%w: Redis time %s", ErrClockSkew, fromMicros(r.int(1)).UTC())
	}
	return nil
}

func (r reply) int(i int) int64 {
	switch v := r[i].(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

func (r reply) str(i int) string {
	switch v := r[i].(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

func isNil(err error) bool { return errors.Is(err, redis.Nil) }
