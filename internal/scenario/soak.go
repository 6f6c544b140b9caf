package scenario

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/faults"
)

// SoakFaults are every fault at once, at rates that make each happen many
// times in a soak. A kill fails the whole batch of up to ten records it hits,
// so its rate per request is the lowest.
var SoakFaults = faults.Config{
	Throttle: 0.03, ServerError: 0.01, Latency: 20 * time.Millisecond, LatencyRate: 0.05,
	DuplicateSQS: 0.05, DuplicateEvents: 0.2, Reorder: true, KillBefore: 0.001, KillAfter: 0.001,
}

// SoakConfig describes a chaos soak: many drains at once, every fault on.
type SoakConfig struct {
	Binary     string
	Deployment Deployment // the synthesized template's
	Seed       uint64
	Drains     int
	// Faults are the fault rates; their Seed is set from Seed.
	Faults faults.Config
	// LoseRequeues is the share of re-queue messages lost outright; the
	// reconciler must bring every one of those drains to completion.
	LoseRequeues float64
	// Poison records (not JSON, a future message version) sent to the
	// queue; each must reach the DLQ.
	Poison int
	// Chaos is how many drains, for each kind, get something done to them
	// behind the drainer's back: the container instance deregistered, the
	// action completed by someone else, the heartbeat timeout lapsed.
	Chaos int
	// Timeout bounds the whole soak.
	Timeout time.Duration
}

// Soak timings: drains that take seconds, a reconciler that notices a lost
// chain within a quarter of the heartbeat timeout.
const (
	soakPoll      = 2 * time.Second
	soakMaxDrain  = 30 * time.Second
	soakHeartbeat = 120 // seconds; the construct requires 8 min or more, the soak is harsher
	soakReconcile = 5 * time.Second
)

// SoakReport counts what the invariants are about.
type SoakReport struct {
	Seed                        uint64
	Drains, Completed, TimedOut int
	EarlyReleases               int // completed with tasks running before the deadline
	Deadlines                   int // released at the deadline, loudly, as designed
	NotEnded                    int // actions still pending at the end: a lost chain
	Forks                       int // chains that forked into two that both lived on
	LostMessages                int
	ChainsLeft                  int // messages still on the queue after every action ended
	PoisonInDLQ, Poison         int
	DLQExtra                    int // drain messages that ended in the DLQ
	CallsPerDrain               float64
	Invocations                 int
	Faults                      map[string]int
	Wall                        time.Duration
	Violations                  []string
}

// callsPerDrainBound is the most AWS calls a drain may cost on average:
// about ten per hop, a hop per poll up to the deadline, plus retries and
// the reconciler's sweeps.
var callsPerDrainBound = 12.0 * (soakMaxDrain.Seconds()/soakPoll.Seconds() + 10)

// Line is the one-line summary the soak prints.
func (r SoakReport) Line() string {
	kinds := make([]string, 0, len(r.Faults))
	for k, n := range r.Faults {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("soak seed=%d drains=%d completed=%d timed_out=%d deadline=%d early_releases=%d not_ended=%d forks=%d lost_messages=%d chains_left=%d poison_in_dlq=%d/%d dlq_extra=%d calls_per_drain=%.1f (bound %.0f) invocations=%d wall=%s faults{%s} violations=%d",
		r.Seed, r.Drains, r.Completed, r.TimedOut, r.Deadlines, r.EarlyReleases, r.NotEnded, r.Forks, r.LostMessages, r.ChainsLeft,
		r.PoisonInDLQ, r.Poison, r.DLQExtra, r.CallsPerDrain, callsPerDrainBound, r.Invocations, r.Wall.Round(time.Second), strings.Join(kinds, " "), len(r.Violations))
}

// Soak runs the chaos soak and checks its invariants.
func Soak(ctx context.Context, cfg SoakConfig) (SoakReport, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x50a4)) // #nosec G404 -- seeded for a reproducible soak, not a secret
	cfg.Faults.Seed = int64(cfg.Seed)              // #nosec G115 -- a seed's bits, not a quantity
	inj := faults.New(cfg.Faults)
	w, err := Start(ctx, cfg.Deployment, FunctionOptions{
		Binary: cfg.Binary, PollInterval: soakPoll, MaxDrain: soakMaxDrain, Concurrency: 32, Faults: inj,
		Timeout: 15 * time.Second, VisibilityTimeout: 10 * time.Second, Env: []string{"DRAINER_STALE_AFTER=1m"},
	})
	if err != nil {
		return SoakReport{}, err
	}
	defer w.Close()

	// Service tasks move to a few spare instances with room for all of
	// them; a share of the drained instances also runs a standalone job,
	// and a few run one that never ends (released at the deadline).
	spares := cfg.Drains/24 + 2
	ids, err := w.Group(ctx, GroupSpec{Name: "soak", Cluster: "soak", Instances: cfg.Drains + spares,
		Resources: ecs.Resources{CPU: 4096, Memory: 8192}, HeartbeatTimeout: soakHeartbeat})
	if err != nil {
		return SoakReport{}, err
	}
	drained := ids[:cfg.Drains]
	if err := w.AWS.ECS.CreateService("soak", ecs.ServiceSpec{Name: "web", DesiredCount: cfg.Drains, CPU: 128, Memory: 128,
		StopDelay: time.Second, MinimumHealthyPercent: 50}); err != nil {
		return SoakReport{}, err
	}
	for _, id := range drained {
		switch p := rng.Float64(); {
		case p < 0.03:
			_, err = w.AWS.ECS.RunTask("soak", id, ecs.TaskSpec{Family: "stuck", CPU: 128, Memory: 128})
		case p < 0.3:
			_, err = w.AWS.ECS.RunTask("soak", id, ecs.TaskSpec{Family: "job", CPU: 128, Memory: 128, RunFor: time.Duration(2+rng.IntN(18)) * time.Second})
		}
		if err != nil {
			return SoakReport{}, err
		}
	}
	for i := range cfg.Poison {
		body := poisonBody(i)
		if _, err := w.AWS.SQS.Send(w.QueueURL, body, ""); err != nil {
			return SoakReport{}, err
		}
	}

	chains := newChainLog()
	lost := &lossLog{rng: rand.New(rand.NewPCG(cfg.Seed, 0x1057)), rate: cfg.LoseRequeues} // #nosec G404 -- seeded for a reproducible soak
	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(ctx)
	defer func() { stopBG(); bg.Wait() }()
	bg.Go(func() { w.Reconcile(bgCtx, soakReconcile) })
	bg.Go(func() { w.watchQueue(bgCtx, chains, lost) })

	for _, id := range drained {
		if err := w.retry(ctx, func() error { _, err := w.ASG.TerminateInstanceInAutoScalingGroup(ctx, terminate(id)); return err }); err != nil {
			return SoakReport{}, fmt.Errorf("terminating %s: %w", id, err)
		}
	}
	chaos := w.chaos(ctx, rng, drained, cfg.Chaos)

	// Wait until every action ended, every chain with it, and every event
	// the drains caused was handled.
	for ctx.Err() == nil {
		if w.pendingActions() == 0 {
			v, f, d := w.AWS.SQS.Counts(w.QueueURL)
			ev, ef, ed := w.AWS.SQS.Counts(w.EventQueueURL)
			if v+f+d+ev+ef+ed == 0 {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopBG()
	bg.Wait()
	return w.soakReport(cfg, drained, chaos, chains, lost, inj, time.Since(start)), nil
}

// poisonBody is the i-th record that can never succeed: not JSON, or a
// re-queue message of a version no build knows.
func poisonBody(i int) string {
	if i%2 == 1 {
		return fmt.Sprintf(`{"kind":"ecs-drainer/requeue","version":99,"n":%d}`, i)
	}
	return fmt.Sprintf("poison #%d: not an event", i)
}

// retry repeats a harness call through the faults (the SDK's own retries
// may give up under heavy throttling).
func (w *World) retry(ctx context.Context, call func() error) error {
	var err error
	for range 20 {
		if err = call(); err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func terminate(id string) *sdkautoscaling.TerminateInstanceInAutoScalingGroupInput {
	return &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)}
}

// Kinds of chaos done behind the drainer's back.
const (
	chaosDeregistered = "deregistered"
	chaosCompleted    = "completed_by_other"
	chaosExpired      = "heartbeat_lapsed"
)

// chaos picks n drains for each kind and does it to them a few seconds into
// their drain. It returns the kind done to each instance.
func (w *World) chaos(ctx context.Context, rng *rand.Rand, drained []string, n int) map[string]string {
	picked := map[string]string{}
	order := rng.Perm(len(drained))
	kinds := []string{chaosDeregistered, chaosCompleted, chaosExpired}
	for i := 0; i < n*len(kinds) && i < len(order); i++ {
		picked[drained[order[i]]] = kinds[i%len(kinds)]
	}
	for id, kind := range picked {
		delay := time.Duration(500+rng.IntN(4000)) * time.Millisecond
		time.AfterFunc(delay, func() {
			switch kind {
			case chaosDeregistered:
				w.AWS.ECS.DeregisterEC2Instance(id)
			case chaosCompleted:
				_ = w.retry(ctx, func() error {
					_, err := w.ASG.CompleteLifecycleAction(ctx, &sdkautoscaling.CompleteLifecycleActionInput{
						AutoScalingGroupName: aws.String("soak"), LifecycleHookName: aws.String(HookName),
						InstanceId: aws.String(id), LifecycleActionResult: aws.String("CONTINUE")})
					if err != nil && strings.Contains(err.Error(), "No active Lifecycle Action") {
						return nil // the drainer was first
					}
					return err
				})
			case chaosExpired:
				w.AWS.AutoScaling.ExpireAction(id, HookName)
			}
		})
	}
	return picked
}

func (w *World) pendingActions() int {
	n := 0
	for _, a := range w.AWS.AutoScaling.Actions() {
		if a.Hook == HookName && a.Active {
			n++
		}
	}
	return n
}

// lossLog decides which re-queue messages are lost outright.
type lossLog struct {
	mu   sync.Mutex
	rng  *rand.Rand
	rate float64
	seen map[string]bool
	lost int
}

func (l *lossLog) decide(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if l.seen[id] {
		return false
	}
	l.seen[id] = true
	if l.rate > 0 && l.rng.Float64() < l.rate {
		l.lost++
		return true
	}
	return false
}

// watchQueue records every re-queue message (their delay of at least a
// second keeps each on the queue for several looks) and loses the share
// the soak asks for.
func (w *World) watchQueue(ctx context.Context, chains *chainLog, lost *lossLog) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		msgs, err := w.AWS.SQS.Messages(w.QueueURL)
		if err != nil {
			return
		}
		for _, m := range msgs {
			if !strings.Contains(m.Body, `"kind":"ecs-drainer/requeue"`) || strings.Contains(m.Body, `"version":99`) {
				continue
			}
			chains.see(m.MessageID, m.Body)
			if m.ReceiptHandle == "" && lost.decide(m.MessageID) {
				w.AWS.SQS.Lose(w.QueueURL, m.MessageID)
			}
		}
	}
}

func (w *World) soakReport(cfg SoakConfig, drained []string, chaos map[string]string, chains *chainLog, lost *lossLog, inj *faults.Injector, wall time.Duration) SoakReport {
	r := SoakReport{Seed: cfg.Seed, Drains: len(drained), Poison: cfg.Poison, Faults: inj.Stats(), Wall: wall, LostMessages: lost.lost}
	violate := func(format string, args ...any) { r.Violations = append(r.Violations, fmt.Sprintf(format, args...)) }
	actions := map[string]autoscaling.ActionView{}
	for _, a := range w.AWS.AutoScaling.Actions() {
		if a.Hook == HookName {
			actions[a.InstanceID] = a
		}
	}
	for _, id := range drained {
		a, ok := actions[id]
		switch {
		case !ok || a.Active:
			r.NotEnded++
			violate("%s: action never ended", id)
			continue
		case a.End == autoscaling.EndTimedOut:
			r.TimedOut++
			if chaos[id] != chaosExpired {
				violate("%s: heartbeat timeout lapsed without the fault", id)
			}
			continue
		case a.End != autoscaling.EndCompleted:
			violate("%s: action ended %q", id, a.End)
			continue
		}
		r.Completed++
		if chaos[id] != "" {
			continue // the drainer did not decide this release
		}
		left := w.liveTasks("soak", id, a.Ended)
		held := a.Ended.Sub(a.Started)
		switch {
		case len(left) == 0:
		case held >= soakMaxDrain-time.Second:
			r.Deadlines++
		default:
			r.EarlyReleases++
			violate("%s: released after %s with %d tasks running", id, held, len(left))
		}
	}
	for id, n := range chains.forks() {
		r.Forks += n
		violate("%s: chain forked into two that both lived on (%d times)", id, n)
	}
	v, f, d := w.AWS.SQS.Counts(w.QueueURL)
	if r.ChainsLeft = v + f + d; r.ChainsLeft > 0 {
		violate("%d messages left on the poll queue after every action ended", r.ChainsLeft)
	}
	dead, _ := w.AWS.SQS.Messages(w.DLQURL)
	inDLQ := map[string]bool{}
	for _, m := range dead {
		inDLQ[m.Body] = true
	}
	for i := range cfg.Poison {
		if inDLQ[poisonBody(i)] {
			r.PoisonInDLQ++
			delete(inDLQ, poisonBody(i))
		}
	}
	// A poison record may reach the DLQ twice (delivered twice, one copy
	// sent back for lack of time): at least once is the promise.
	for body := range inDLQ {
		if !strings.HasPrefix(body, "poison") && !strings.Contains(body, `"version":99`) {
			r.DLQExtra++
		}
	}
	if r.PoisonInDLQ != cfg.Poison {
		violate("%d of %d poison records reached the DLQ", r.PoisonInDLQ, cfg.Poison)
	}
	calls := 0
	for _, n := range w.APICalls() {
		calls += n
	}
	r.CallsPerDrain = float64(calls) / float64(max(1, len(drained)))
	if r.CallsPerDrain > callsPerDrainBound {
		violate("%.1f AWS calls per drain, over the bound of %.0f", r.CallsPerDrain, callsPerDrainBound)
	}
	r.Invocations = w.Function.Stats().Invocations
	slices.Sort(r.Violations)
	return r
}
