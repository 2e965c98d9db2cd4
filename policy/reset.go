package policy

import (
	"sync"
	"time"
	_ "time/tzdata" // America/Chicago must load on a scratch image too.
)

// QuotaZone is where Marketo's daily quota resets at 00:00 (CONTRACT §6,
// §7): Central time, with its daylight saving changes.
const QuotaZone = "America/Chicago"

var quotaLocation = sync.OnceValues(func() (*time.Location, error) {
	return time.LoadLocation(QuotaZone)
})

// NextQuotaReset returns the first 00:00 in America/Chicago strictly after
// now: a 607 at 23:59:59 waits one second. Days of 23 and 25 hours (the DST
// changes) come out right because the date, not a duration, is advanced.
// It panics only if the zone cannot load, which the embedded time/tzdata
// prevents.
func NextQuotaReset(now time.Time) time.Time {
	loc, err := quotaLocation()
	if err != nil {
		panic("policy: " + err.Error())
	}
	return nextMidnight(now, loc)
}

// nextMidnight relies on midnight existing every day in loc, which holds
// for America/Chicago: its clocks change at 02:00.
func nextMidnight(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}
