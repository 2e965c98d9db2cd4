// Package status builds one snapshot of the live pipeline, the first screen
// of an incident: NATS, Redis and the replicas that announce themselves,
// then one row per subscription with its backlog, oldest event, work in
// flight, recent outcomes, limits, and any halt, pause or block.
//
// Collect reads only: consumer info and the failed stream (JetStream), the
// heartbeats and pauses of the REPOST_EVENTS bucket, and the shared limits
// (quota.Store.Snapshot). Its dependencies are the small interfaces below,
// so that repostctl status and repostd's console share the one model.
package status
