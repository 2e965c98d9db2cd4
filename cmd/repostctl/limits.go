package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/connect"
	"github.com/leadops/repost/internal/redact"
	"github.com/leadops/repost/quota"
)

// limitsRow is one subscription of `limits`.
type limitsRow struct {
	Subscription         string    `json:"subscription"`
	QuotaUsed            int       `json:"quotaUsed"`
	QuotaLeft            int       `json:"quotaLeft"`
	QuotaLimit           int       `json:"quotaLimit"`
	ResetAt              time.Time `json:"resetAt"`
	CallsInWindow        int       `json:"callsInWindow"`
	WindowLimit          int       `json:"windowLimit"`
	Window               string    `json:"window"`
	Leases               int       `json:"leases"`
	EffectiveConcurrency int       `json:"effectiveConcurrency"`
	MaxConcurrency       int       `json:"maxConcurrency"`
	BlockedUntil         time.Time `json:"blockedUntil,omitzero"`
	BlockReason          string    `json:"blockReason,omitempty"`
	Halted               bool      `json:"halted"`
	HaltReason           string    `json:"haltReason,omitempty"`
	Now                  time.Time `json:"now"`
	// Instance is the Marketo instance limits the share is measured against.
	Instance instanceLimits `json:"instance"`
	// After a loss of the state in Redis: when, whether admissions still
	// wait for the day's count, the figure it was restored to and from where.
	LostAt        time.Time `json:"lostAt,omitzero"`
	Restoring     bool      `json:"restoring,omitempty"`
	RestoredCount int       `json:"restoredCount,omitempty"`
	RestoredFrom  string    `json:"restoredFrom,omitempty"`
	RestoredAt    time.Time `json:"restoredAt,omitzero"`
}

// instanceLimits are the limits of most Marketo instances (FACTS.md): the
// subscription's limits are repost's share of them, the DAP pipeline and other
// integrations use the rest. Instances are guaranteed only 10,000 calls a day.
type instanceLimits struct {
	CallsPerWindow int    `json:"callsPerWindow"`
	Window         string `json:"window"`
	MaxConcurrency int    `json:"maxConcurrency"`
	DailyQuota     int    `json:"dailyQuota"`
}

var instance = instanceLimits{CallsPerWindow: 100, Window: "20s", MaxConcurrency: 10, DailyQuota: 50000}

const instanceWindow = 20 * time.Second

// share writes a row's limits as parts of the instance's: the call rate
// (per 20 s whatever the row's window), the concurrency, the daily quota.
func share(r limitsRow) string {
	rate := "-"
	if w, err := time.ParseDuration(r.Window); err == nil && w > 0 {
		per20 := float64(r.WindowLimit) * float64(instanceWindow) / float64(w)
		rate = fmt.Sprintf("%.0f%%", 100*per20/float64(instance.CallsPerWindow))
	}
	return fmt.Sprintf("rate %s, concurrency %.0f%%, day %.0f%%", rate,
		100*float64(r.MaxConcurrency)/float64(instance.MaxConcurrency), 100*float64(r.QuotaLimit)/float64(instance.DailyQuota))
}

func newLimitsCmd(e *env, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "limits [SUB]",
		Short: "Quota, window, leases, concurrency, blocks and halts of each subscription",
		Args:  maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cfg, err := loadConfig(e, g)
			if err != nil {
				return err
			}
			subs, err := selectSubs(cfg, args)
			if err != nil {
				return err
			}
			open := e.limitStore
			if open == nil {
				open = e.openLimitStore
			}
			store, note, err := open(c.Context(), cfg)
			if err != nil {
				return err
			}
			defer store.Close()
			if note != "" {
				e.warn(note)
			}
			rows, err := snapshots(c.Context(), store, cfg, subs)
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(e.stdout, rows)
			}
			return printLimits(e.stdout, rows, e.loc)
		},
	}
}

func selectSubs(cfg *config.Config, args []string) ([]config.Subscription, error) {
	if len(args) == 0 {
		return cfg.Subscriptions, nil
	}
	s, ok := cfg.Subscription(args[0])
	if !ok {
		ids := make([]string, len(cfg.Subscriptions))
		for i, s := range cfg.Subscriptions {
			ids[i] = s.ID
		}
		return nil, fmt.Errorf("subscription %s is not in the configuration (configured: %s)", args[0], dash(strings.Join(ids, ", ")))
	}
	return []config.Subscription{*s}, nil
}

func snapshots(ctx context.Context, store quota.Store, cfg *config.Config, subs []config.Subscription) ([]limitsRow, error) {
	rows := []limitsRow{}
	for _, s := range subs {
		lim := quota.Limits{DailyQuota: s.Limits.DailyQuota, CallsPerWindow: s.Limits.CallsPerWindow,
			Window: s.Limits.Window, MaxConcurrency: s.Limits.MaxConcurrency, LeaseTTL: cfg.Worker.LeaseTTL}
		sn, err := store.Snapshot(ctx, s.ID, lim)
		if err != nil {
			return nil, fmt.Errorf("limits of %s: %w", s.ID, err)
		}
		rows = append(rows, limitsRow{Subscription: s.ID, QuotaUsed: sn.QuotaUsed, QuotaLeft: sn.QuotaLeft(),
			QuotaLimit: sn.QuotaLimit, ResetAt: sn.ResetAt, CallsInWindow: sn.CallsInWindow, WindowLimit: sn.WindowLimit,
			Window: sn.Window.String(), Leases: sn.Leases, EffectiveConcurrency: sn.EffectiveConcurrency,
			MaxConcurrency: sn.MaxConcurrency, BlockedUntil: sn.BlockedUntil, BlockReason: sn.BlockReason,
			Halted: sn.Halted, HaltReason: sn.HaltReason, Now: sn.Now, Instance: instance,
			LostAt: sn.LostAt, Restoring: sn.Restoring, RestoredCount: sn.RestoredCount,
			RestoredFrom: sn.RestoredFrom, RestoredAt: sn.RestoredAt})
	}
	return rows, nil
}

var chicago = func() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err) // time/tzdata is linked in
	}
	return loc
}()

func printLimits(w io.Writer, rows []limitsRow, local *time.Location) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no subscriptions configured")
		return err
	}
	t := newTable(w, "SUBSCRIPTION", "QUOTA USED", "LEFT", "RESETS (CHICAGO = LOCAL)", "IN WINDOW",
		"LEASES", "CONCURRENCY", "BLOCKED", "HALTED", "SHARE OF INSTANCE")
	for _, r := range rows {
		blocked := "-"
		if !r.BlockedUntil.IsZero() && r.BlockedUntil.After(r.Now) {
			blocked = "until " + r.BlockedUntil.In(local).Format("15:04:05 MST") + ": " + clip(dash(r.BlockReason), 32)
		}
		halted := "-"
		if r.Halted {
			halted = "yes: " + clip(dash(r.HaltReason), 48)
		}
		t.row(r.Subscription,
			thousands(r.QuotaUsed)+" of "+thousands(r.QuotaLimit), thousands(r.QuotaLeft),
			r.ResetAt.In(chicago).Format("15:04 MST")+" = "+r.ResetAt.In(local).Format("15:04 MST")+", in "+roundDur(r.ResetAt.Sub(r.Now)),
			fmt.Sprintf("%d of %d per %s", r.CallsInWindow, r.WindowLimit, r.Window),
			fmt.Sprint(r.Leases), fmt.Sprintf("%d of %d", r.EffectiveConcurrency, r.MaxConcurrency), blocked, halted, share(r))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if err := printRestored(w, r, local); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "share of a usual Marketo instance: %d calls per %s, %d concurrent, %s calls a day (some instances have 10,000); the DAP pipeline and other integrations use the rest\n",
		instance.CallsPerWindow, instance.Window, instance.MaxConcurrency, thousands(instance.DailyQuota))
	return err
}

// printRestored says, for a subscription whose state was lost in Redis,
// where the day's count it resumed from came from.
func printRestored(w io.Writer, r limitsRow, local *time.Location) error {
	if r.LostAt.IsZero() {
		return nil
	}
	lost := r.LostAt.In(local).Format("15:04:05 MST")
	if r.Restoring {
		_, err := fmt.Fprintf(w, "%s: limits state lost in Redis at %s; calls held until the day's count is restored\n", r.Subscription, lost)
		return err
	}
	_, err := fmt.Fprintf(w, "%s: limits state lost in Redis at %s; day's count restored to %s from %s at %s\n", r.Subscription, lost,
		thousands(r.RestoredCount), r.RestoredFrom, r.RestoredAt.In(local).Format("15:04:05 MST"))
	return err
}

// roundDur writes a duration to the minute: 13h20m.
func roundDur(d time.Duration) string {
	d = d.Round(time.Minute)
	if d <= 0 {
		return "0m"
	}
	return strings.TrimSuffix(d.String(), "0s")
}

// openLimitStore opens Redis when configured, else a fresh in-process
// store with a note saying that it knows nothing of a running repostd.
func (e *env) openLimitStore(ctx context.Context, cfg *config.Config) (quota.Store, string, error) {
	url := cfg.Redis.URL.Reveal()
	if url == "" {
		return quota.NewMemory(quota.MemoryOptions{Now: e.now}),
			"no Redis configured: limits are kept inside the repostd process and cannot be seen from here; shown is what a fresh in-process store knows (nothing used)", nil
	}
	client, err := connect.Redis(cfg.Redis)
	if err != nil {
		return nil, "", err
	}
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, "", fmt.Errorf("redis at %s not reachable: %s", cfg.Redis.URL, redact.String(err.Error(), append(redact.InURL(url), cfg.Redis.Password.Reveal())...))
	}
	return closingStore{quota.NewRedis(client, quota.RedisOptions{}), client}, "", nil
}

// closingStore closes the Redis client with the store.
type closingStore struct {
	quota.Store
	c redis.UniversalClient
}

func (s closingStore) Close() error {
	err := s.Store.Close()
	if cerr := s.c.Close(); err == nil {
		err = cerr
	}
	return err
}
