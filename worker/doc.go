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
// Shutdown order (Run returns when it is done):
//  1. stop fetching from every consumer;
//  2. let in-flight Marketo calls finish within the shutdown deadline, then
//     cancel the rest;
//  3. hand back every event not finished (Nak, no delay) so another replica
//     takes it at once;
//  4. release concurrency leases and lookup claims (deferred per call);
//  5. the caller then closes NATS (drain) and, last, the limiter's Redis.
package worker
