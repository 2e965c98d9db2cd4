// Package worker drives failed post-outs from JetStream to Marketo and back:
// fetch, decode, decide, batch, admit, call, and leave exactly one outcome per
// event, across crashes, restarts and replicas.
//
// One pipeline runs per configured subscription, reading its own durable
// consumer, so a subscription that waits (window, daily quota, halt) stops
// fetching and slows no other. Every Marketo call is admitted first by the
// shared limiter (quota, window, concurrency), and every answer goes through
// the policy engine, whose decision is logged with its reason.
//
// Delivery guarantee: a parked entry or outcome is acknowledged by JetStream
// before the original event is acked, and publications are de-duplicated by
// eventId, so a crash between the two repeats work and never loses it.
//
// The shutdown order (stop fetching, finish or hand back in-flight work,
// release leases, withdraw the heartbeat; the caller closes NATS, then
// Redis) is written out once, in Run (worker.go). Following one event from
// fetch to ack: docs/DESIGN.md, "One event's files".
package worker
