// Package console serves repostd's read-only web console at /ui/: an
// overview of every subscription (the figures of `repostctl status`), one
// subscription (calls per window over the last 10 minutes against the
// limit, the day's quota, halts, pauses and blocks, parked groups by code
// and field) and one parked group (its leads, paged, each with its parked
// block and its event's story as `repostctl trace` tells it).
//
// Nothing here writes: requeue, discard and pause stay in repostctl, where
// they are audited; every view prints the command that acts on it.
//
// Cost. Every figure comes from state shared by all viewers: the status
// snapshot is collected at most once a second, the parked index of a
// subscription at most once every few seconds, and the chart's samples by
// one background sampler; a page view never reaches NATS or Redis on its
// own account except for the one page of leads it shows.
//
// Privacy. Lead field values are hidden unless Config.ShowLeadData; the
// console never renders configuration, so secrets cannot appear. Pages
// are plain HTML with a small embedded script and style sheet, served with
// a Content-Security-Policy that allows nothing but this origin, and
// X-Frame-Options: DENY.
package console
