package quota

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Every key of a subscription carries the hash tag {<sub>}: multi-key
// scripts then touch a single Redis Cluster slot.
func key(sub, name string) string { return "repost:{" + sub + "}:" + name }

// limitKeys are the keys of the admission and snapshot scripts: window,
// leases, conc, block, halt, the quota counters of days 0, 1 and 2, then
// the epoch.
func limitKeys(sub string, ds days) []string {
	ks := []string{
		key(sub, "window"), key(sub, "leases"), key(sub, "conc"),
		key(sub, "block"), key(sub, "halt"),
	}
	for _, d := range ds[:3] {
		ks = append(ks, key(sub, "quota:"+strconv.FormatInt(d.Unix(), 10)))
	}
	return append(ks, epochKey(sub))
}

// epochKey names the subscription's state: when it goes missing, the
// state was lost (see admitScript).
func epochKey(sub string) string { return key(sub, "epoch") }

func markKey(sub, leadID string) string { return key(sub, "success:"+leadID) }

// claimKey hashes the lookup value: an email address is personal data that
// has no business in a Redis key listing.
func claimKey(sub, value string) string {
	h := sha256.Sum256([]byte(value))
	return key(sub, "claim:"+hex.EncodeToString(h[:16]))
}

func tokenKey(sub string) string     { return key(sub, "token") }
func tokenLockKey(sub string) string { return key(sub, "token:lock") }

func us(d time.Duration) int64 { return d.Microseconds() }

func dayArgs(ds days) []any {
	return []any{ds[0].UnixMicro(), ds[1].UnixMicro(), ds[2].UnixMicro(), ds[3].UnixMicro()}
}
