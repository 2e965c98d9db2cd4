package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

// readOutcomes reads the whole outcome stream.
func readOutcomes(ctx context.Context, q *queue.Queue) ([]repost.Outcome, error) {
	var out []repost.Outcome
	err := q.ScanOutcomes(ctx, "", func(m queue.StoredMsg) (bool, error) {
		var o repost.Outcome
		if err := json.Unmarshal(m.Data, &o); err != nil {
			return false, fmt.Errorf("outcome at %d: %w", m.Seq, err)
		}
		out = append(out, o)
		return true, nil
	})
	return out, err
}

// getJSON reads one of the simulator's admin endpoints.
func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	return dec.Decode(v)
}

// readSim reads the simulator's counters, call log, answered records and
// leads, and the call log of PausedSub's simulator.
func readSim(ctx context.Context, base, pausedBase string, ev *evidence) error {
	if err := getJSON(ctx, base+"/_sim/stats", &ev.stats); err != nil {
		return err
	}
	if err := getJSON(ctx, base+"/_sim/calls", &ev.calls); err != nil {
		return err
	}
	if err := getJSON(ctx, base+"/_sim/answered", &ev.answered); err != nil {
		return err
	}
	if err := getJSON(ctx, pausedBase+"/_sim/calls", &ev.pausedCalls); err != nil {
		return err
	}
	var leads []map[string]any
	if err := getJSON(ctx, base+"/_sim/leads", &leads); err != nil {
		return err
	}
	for _, l := range leads {
		email, _ := l["email"].(string)
		lastName, _ := l["lastName"].(string)
		n, _ := l["id"].(json.Number)
		id, err := n.Int64()
		if err != nil {
			return fmt.Errorf("simulator lead without an id: %v", l)
		}
		ev.leads = append(ev.leads, simLead{Email: email, ID: id, LastName: lastName})
	}
	return nil
}

// readParked returns the parked code of every entry of sub, by eventId.
func readParked(ctx context.Context, q *queue.Queue, sub string) (map[string]string, error) {
	out := map[string]string{}
	err := q.ScanParked(ctx, sub, func(m queue.StoredMsg) (bool, error) {
		var e struct {
			EventID string `json:"eventId"`
			Parked  struct {
				Code json.RawMessage `json:"code"`
			} `json:"parked"`
		}
		if err := json.Unmarshal(m.Data, &e); err != nil {
			return false, fmt.Errorf("parked entry at %d: %w", m.Seq, err)
		}
		out[e.EventID] = strings.Trim(string(e.Parked.Code), `"`)
		return true, nil
	})
	return out, err
}

// waitLeases polls Redis until no concurrency lease is held, giving the
// leases of the last killed replica their TTL: it returns the leases still
// held at the deadline (0 as soon as none is).
func waitLeases(ctx context.Context, addr string, lim quota.Limits, until time.Time) (int, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	store := quota.NewRedis(rc, quota.RedisOptions{})
	defer store.Close()
	for {
		s, err := store.Snapshot(ctx, fixture.Sub, lim)
		if err != nil {
			return -1, err
		}
		if s.Leases == 0 || time.Now().After(until) {
			return s.Leases, nil
		}
		select {
		case <-ctx.Done():
			return s.Leases, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readRestore reads the day's count restored after Redis lost its state.
func readRestore(ctx context.Context, addr string, lim quota.Limits) (RestoreCounts, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	s, err := quota.NewRedis(rc, quota.RedisOptions{}).Snapshot(ctx, fixture.Sub, lim)
	if err != nil {
		return RestoreCounts{}, err
	}
	return RestoreCounts{LostAt: s.LostAt, Count: s.RestoredCount, From: s.RestoredFrom, RestoredAt: s.RestoredAt}, nil
}

// keysLeft counts the subscription's Redis keys by kind
// (repost:{sub}:claim:<hash> counts as "claim").
func keysLeft(ctx context.Context, addr string) (map[string]int, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	prefix := "repost:{" + fixture.Sub + "}:"
	out := map[string]int{}
	iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		kind, _, _ := strings.Cut(strings.TrimPrefix(iter.Val(), prefix), ":")
		out[kind]++
	}
	return out, iter.Err()
}

// secretInLogs reports whether any log of the run holds the secret.
func secretInLogs(dir, secret string) (bool, error) {
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return false, err
	}
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			return false, err
		}
		if bytes.Contains(b, []byte(secret)) {
			return true, nil
		}
	}
	return false, nil
}
