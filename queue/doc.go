// Package queue is repost's side of NATS JetStream: the subjects and streams
// of the contract, the durable pull consumers the worker reads from, the
// key-value bucket that remembers attempts across redeliveries, publishing
// with de-duplication, and an embedded nats-server for one-process setups.
//
// Layout (see docs/DESIGN.md): one durable pull consumer per configured
// subscription, "repost-<sub>", filtered on that subscription's failed
// subject. A subscription that must wait (a full window, a used-up daily
// quota, a halt) is simply not fetched, so it holds no acknowledgement slot
// that another subscription needs and no memory for its backlog. Events of
// subscriptions missing from the configuration are found by subject and
// read by sequence (unrouted.go), never through a consumer that would see
// every failed event.
//
// Streams and consumers are created when missing and never reconfigured or
// deleted: an operator's changes to them stand.
package queue
