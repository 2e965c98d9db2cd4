// Package config loads repost's configuration: one YAML file (CONTRACT §8)
// overridden by environment variables, with ${VAR} expansion in values,
// client secrets read from files, defaults, and a Validate that names every
// bad field by its YAML path (subscriptions[1].limits.window).
//
// Secrets are of type Secret and URLs that may carry a password of type URL:
// both print as [redacted] through fmt, JSON, YAML, text and slog, so a Config
// can be logged whole (Config.Redacted is the rendering repostd logs at
// start). Reveal returns the value for the one call that sends it.
//
// The package talks to files and the environment only; it imports policy to
// validate overrides the way the engine will read them.
package config
