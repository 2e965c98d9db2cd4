// Command repostctl is the on-call engineer's tool for repost's parked-lead
// queue (CONTRACT §4, §5, §9): see what broke, fix the mapping, replay it
// without losing a lead or replaying the wrong ones.
//
//	repostctl parked summary                  counts by subscription × code × field
//	repostctl parked list [filters]           one line per parked lead
//	repostctl parked show ID                  one entry: event, parked block, request, response
//	repostctl parked requeue [filters] [transforms] [--dry-run]
//	repostctl parked discard [filters] --reason TEXT
//	repostctl import FILE|-                   DAP's Post Out Log Report (CSV) or JSON lines
//	repostctl limits [SUB]                    quota, window, leases, blocks, halts
//	repostctl policy [--code N]               the effective decision table
//
// It reads the same configuration as repostd (--config, REPOST_CONFIG and
// the REPOST_* environment). NATS is the configured URL, else the embedded
// server of a repostd running on the data directory (dataDir/nats.url),
// else an embedded server this process starts on the data directory for
// offline inspection. Exit status: 0 done, 1 failed, 2 bad usage.
package main
