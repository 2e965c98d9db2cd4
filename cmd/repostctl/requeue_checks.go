package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/leadops/repost/queue"
)

// mappingCodes are the codes parked for a mapping or data fix (the default
// policy): republished unchanged, such a lead parks again on the same code.
var mappingCodes = map[string]bool{
	"701": true, "704": true, "709": true, "1001": true, "1002": true, "1003": true, "1004": true,
	"1006": true, "1007": true, "1008": true, "1009": true, "1010": true, "1011": true, "1013": true,
	"1025": true, "1049": true,
}

// checkRequeue runs before a requeue publishes: leads parked on a mapping
// code and given no fix need --no-fix (they would only park again), and a
// requeue with no repostd running to take it is said so.
func checkRequeue(ctx context.Context, e *env, q *queue.Queue, f filter, t transforms, o *requeueOpts) error {
	if o.dryRun {
		return nil
	}
	if t.String() == "unchanged" && !o.noFix {
		byCode := map[string]int{}
		err := scanParked(ctx, q, f, func(string) {}, func(en entry) error {
			if c := en.P.Parked.Code.String(); mappingCodes[c] {
				byCode[c]++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(byCode) > 0 {
			codes := make([]string, 0, len(byCode))
			for c := range byCode {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			parts := make([]string, len(codes))
			for i, c := range codes {
				parts[i] = fmt.Sprintf("%s ×%d", c, byCode[c])
			}
			return usagef("these leads were parked for a mapping or data fix (%s): republished unchanged they park again.\n"+
				"Give a fix (--rename-field, --drop-field, --set-field, --coerce-field, --program-status; try --dry-run),\n"+
				"or --no-fix if the mapping was fixed in Marketo or the config", strings.Join(parts, ", "))
		}
	}
	if beats, err := q.Replicas(ctx, e.now()); err == nil && len(beats) == 0 {
		e.warn("no repostd is running on this NATS (no replica heartbeat): the requeued leads wait in POSTOUT_FAILED until one starts")
	}
	return nil
}
