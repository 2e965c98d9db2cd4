package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// schedule runs the chaos: a random replica SIGKILLed and restarted every
// KillEvery until ChaosFor, Redis restarted at RedisAt and NATS at NATSAt
// (with -cluster: from NATSAt on, the leaders of leaderTargets killed in
// turn, LeaderGap apart).
// It also restarts (and records) any replica that died unasked.
func (r *runner) schedule(ctx context.Context) error {
	o := r.o
	rng := rand.New(rand.NewPCG(o.Seed, 0x6b696c6c))
	start := time.Now()
	r.moment("chaos starts")
	nextKill := start.Add(o.KillEvery)
	redisDone, natsDone := false, false
	leaders, nextLeader := leaderTargets(), start.Add(o.NATSAt)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.revive(); err != nil {
			return err
		}
		now := time.Now()
		switch {
		case !redisDone && !now.Before(start.Add(o.RedisAt)):
			redisDone = true
			if err := r.restartRedis(); err != nil {
				return err
			}
		case o.Cluster && !natsDone && !now.Before(nextLeader):
			if err := r.killLeader(ctx, leaders[0]); err != nil {
				return err
			}
			leaders, nextLeader = leaders[1:], time.Now().Add(o.LeaderGap)
			nextKill = time.Now().Add(o.KillEvery) // no burst of the kills missed meanwhile
			natsDone = len(leaders) == 0
		case !o.Cluster && !natsDone && !now.Before(start.Add(o.NATSAt)):
			natsDone = true
			if err := r.restartNATS(ctx); err != nil {
				return err
			}
		case now.Before(start.Add(o.ChaosFor)) && !now.Before(nextKill):
			nextKill = nextKill.Add(o.KillEvery)
			if err := r.killOne(rng.IntN(o.Workers)); err != nil {
				return err
			}
		case redisDone && natsDone && !now.Before(start.Add(o.ChaosFor)):
			r.moment("chaos ends")
			return nil
		default:
			time.Sleep(50 * time.Millisecond) // the schedule's own clock
		}
	}
}

func (r *runner) killOne(slot int) error {
	p := r.c.workers[slot]
	p.kill()
	r.rep.Chaos.Kills++
	r.lastKill = time.Now()
	r.rep.Chaos.KillTimes = append(r.rep.Chaos.KillTimes, r.lastKill)
	r.moment("SIGKILL " + p.name)
	return r.c.startWorker(slot, false)
}

// revive restarts replicas that exited without being stopped.
func (r *runner) revive() error {
	for slot, p := range r.c.workers {
		if !p.exited() {
			continue
		}
		if err, stopped := p.result(); !stopped {
			r.rep.Chaos.UnexpectedExits = append(r.rep.Chaos.UnexpectedExits,
				fmt.Sprintf("%s: %v: %s", p.name, err, p.tail(3)))
			r.moment("unexpected exit of " + p.name)
			r.rep.Chaos.KillTimes = append(r.rep.Chaos.KillTimes, time.Now()) // a disruption like a kill
			if err := r.c.startWorker(slot, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *runner) restartRedis() error {
	from := time.Now()
	r.moment("Redis stopped (SIGKILL)")
	r.c.redis.kill()
	time.Sleep(r.o.Downtime)
	if err := r.c.startRedis(); err != nil {
		return err
	}
	r.moment("Redis started")
	r.rep.Chaos.RedisRestarts++
	r.window("redis", from)
	return nil
}

func (r *runner) restartNATS(ctx context.Context) error {
	from := time.Now()
	r.moment("NATS stopped (" + r.o.NATSSignal + ")")
	if err := r.c.stopNATS(); err != nil {
		r.moment(fmt.Sprintf("nats-server exit: %v", err))
	}
	time.Sleep(r.o.Downtime)
	if err := r.c.startNATS(); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := r.q.JS.AccountInfo(actx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chaos: JetStream not back after the NATS restart: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.moment("NATS started, JetStream answers")
	r.rep.Chaos.NATSRestarts++
	r.window("nats", from)
	return nil
}

func (r *runner) window(what string, from time.Time) {
	r.rep.Chaos.Windows = append(r.rep.Chaos.Windows, Window{What: what, From: from, To: time.Now().Add(r.o.Grace)})
}
