// Package randid makes the random identifiers repost hands out: worker
// owners, lease and claim values, deferred-copy suffixes, test tokens and
// secrets. Standard library only, so that any package may use it.
package randid

import (
	"crypto/rand"
	"encoding/hex"
)

// Hex returns n random bytes as 2n lowercase hex digits. Each caller keeps
// its own n: the length of an id is part of what its readers see (a lease
// value in Redis, an owner in status, a suffix of an eventId).
func Hex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}
