package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/faults"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// SoakFaults are every fault at once, at rates that make each happen many
// times in a soak. A kill fails the whole batch of up to ten records it hits,
// so its rate per request is the lowest.
var SoakFaults = faults.Config{
	Throttle: 0.03, ServerError: 0.01, Latency: 20 * time.Millisecond, LatencyRate: 0.05,
	DuplicateSQS: 0.05, DuplicateEvents: 0.2, Reorder: true, KillBefore: 0.001, KillAfter: 0.001,
}

// soakFunctionTimeout is the function's timeout in the soak.
const soakFunctionTimeout = 15 * time.Second

// SoakConfig describes a chaos soak: many drains at once, every fault on.
type SoakConfig struct {
	Binary     string
	Deployment localdeploy.Deployment // the synthesized template's, for SoakGroups
	Seed       uint64
	// Drains is how many in-service instances are drained, a fifth of them
	// in SoakOtherGroup; the few terminated out of its warm pool come on
	// top.
	Drains int
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
	// Logs, if set, receives the function's log lines.
	Logs io.Writer
}

// Soak timings: drains that take seconds, a reconciler that notices a lost
// chain within a quarter of the heartbeat timeout.
const (
	soakPoll      = 2 * time.Second
	soakMaxDrain  = 30 * time.Second
	soakHeartbeat = 120 // seconds; the construct requires 8 min or more, the soak is harsher
	soakReconcile = 5 * time.Second
)

// soakResources are every instance's: room for 32 of the soak's tasks.
var soakResources = ecs.Resources{CPU: 4096, Memory: 8192}

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

	// Another team's hook on SoakOtherGroup: its actions, those its team
	// completed (with ABANDON among them), the instances it held after
	// the drainer's action ended, and the drainer's actions an ABANDON of
	// it ended (skipped).
	OtherActions, OtherCompleted, OtherAbandoned, OtherHeldAfter, Skipped int
	// Warm-pool instances terminated out of the pool, and those whose
	// drainer action completed.
	Warm, WarmDrained int
	// Agents disconnected for a few seconds and for good, and the drains
	// released with tasks left once DRAINER_DISCONNECTED_AFTER had passed
	// (loud and expected, like a deadline).
	BriefDisconnects, LongDisconnects, DisconnectReleases int
	// Instances at ECS's custom attribute limit before their drain, those
	// whose drainer action completed, and the forks of their chains, which
	// carry no mark to converge on (counted, not a violation).
	AttrLimit, AttrLimitDrained, UnmarkedForks int
	// The drainer's CompleteLifecycleAction and
	// RecordLifecycleActionHeartbeat requests, and those that named a hook
	// or a token not its own: the invariant is none.
	DrainerLifecycleCalls, ForeignLifecycleCalls int
	// OtherEventsIgnored are the other hook's events (forwardOtherHooks)
	// that the drainer logged as ignored; it must log no outcome for one.
	OtherEventsIgnored int
	// Launch counts the launch gate's actions and groups (checkLaunches);
	// LaunchLost are launch chains' messages the soak lost, LaunchForks
	// launch chains that forked (they carry no mark; counted, not a
	// violation), LaunchDrains the drains of the launch groups' instances
	// (refreshed or abandoned), counted in Drains too.
	Launch                                launchCounts
	LaunchLost, LaunchForks, LaunchDrains int
	// LaunchWall is when, from the soak's start, the launch groups' work
	// was done (their last launch action ended, their refreshes too): it
	// must stay well inside Wall, which the drains set.
	LaunchWall time.Duration
	// Outcomes are the function's logged outcomes, Warnings its counted
	// warnings (other_hooks, attr_limit).
	Outcomes, Warnings map[string]int
	// Stuck counts the drains that cannot finish (stuck.go), those
	// diagnosed with their true reason before their deadline, and the
	// drains ended early although DRAINER_STUCK_AFTER is off.
	Stuck stuckCounts
	// Metrics holds the function's EMF metrics to the soak's own records
	// (metrics.go).
	Metrics metricCounts
}

// callsPerDrainBound is the most AWS calls a drain may cost on average:
// about ten per hop, a hop per poll up to the deadline, plus retries and
// the reconciler's sweeps.
var callsPerDrainBound = 12.0 * (soakMaxDrain.Seconds()/soakPoll.Seconds() + 10)

// Line is the one-line summary the soak prints.
func (r SoakReport) Line() string {
	return fmt.Sprintf("soak seed=%d drains=%d completed=%d timed_out=%d deadline=%d early_releases=%d not_ended=%d forks=%d lost_messages=%d chains_left=%d poison_in_dlq=%d/%d dlq_extra=%d calls_per_drain=%.1f (bound %.0f) invocations=%d wall=%s faults{%s} "+
		"other_hook{actions=%d completed=%d abandoned=%d held_after_drainer=%d skipped_drains=%d} warm_drained=%d/%d disconnects{brief=%d long=%d released_disconnected=%d} attr_limit_drained=%d/%d unmarked_forks=%d "+
		"other_events_ignored=%d foreign_hook_calls=%d/%d "+
		"launches=%d launch_ready=%d launch_warm=%d launch_abandoned=%d launch_failed=%d launch_deadline=%d launch_early=%d launch_lapsed=%d launch_pending=%d "+
		"launch_lost=%d launch_forks=%d launch_drains=%d launch_groups_ready=%d/%d refreshes=%d/%d launch_wall=%s stuck{drains=%d diagnosed=%d early=%d} metrics{%s} outcomes{%s} warnings{%s} violations=%d",
		r.Seed, r.Drains, r.Completed, r.TimedOut, r.Deadlines, r.EarlyReleases, r.NotEnded, r.Forks, r.LostMessages, r.ChainsLeft,
		r.PoisonInDLQ, r.Poison, r.DLQExtra, r.CallsPerDrain, callsPerDrainBound, r.Invocations, r.Wall.Round(time.Second), counts(r.Faults),
		r.OtherActions, r.OtherCompleted, r.OtherAbandoned, r.OtherHeldAfter, r.Skipped, r.WarmDrained, r.Warm,
		r.BriefDisconnects, r.LongDisconnects, r.DisconnectReleases, r.AttrLimitDrained, r.AttrLimit, r.UnmarkedForks,
		r.OtherEventsIgnored, r.ForeignLifecycleCalls, r.DrainerLifecycleCalls,
		r.Launch.Launches, r.Launch.Ready, r.Launch.IntoWarmPool, r.Launch.Abandoned, r.Launch.RegistrationFailed, r.Launch.Deadline, r.Launch.Early, r.Launch.Lapsed, r.Launch.Pending,
		r.LaunchLost, r.LaunchForks, r.LaunchDrains, r.Launch.GroupsReady, r.Launch.Groups, r.Launch.RefreshesDone, r.Launch.Refreshes, r.LaunchWall.Round(time.Second),
		r.Stuck.Drains, r.Stuck.Diagnosed, r.Stuck.Early, r.Metrics, counts(r.Outcomes), counts(r.Warnings), len(r.Violations))
}

// counts renders a map of counts as sorted k=n pairs.
func counts(m map[string]int) string {
	out := make([]string, 0, len(m))
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// world is the soak's local deployment, with the soak's own moves on it:
// the account it builds, the chaos it does, the invariants it checks.
type world struct{ *localdeploy.World }

// Soak runs the chaos soak and checks its invariants.
func Soak(ctx context.Context, cfg SoakConfig) (SoakReport, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := checkDeployment(cfg.Deployment); err != nil {
		return SoakReport{}, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x50a4)) // #nosec G404 -- seeded for a reproducible soak, not a secret
	cfg.Faults.Seed = int64(cfg.Seed)              // #nosec G115 -- a seed's bits, not a quantity
	inj := faults.New(cfg.Faults)
	logs := newOutcomeLog(cfg.Logs)
	dw, err := localdeploy.Start(ctx, cfg.Deployment, localdeploy.FunctionOptions{
		Binary: cfg.Binary, PollInterval: soakPoll, MaxDrain: soakMaxDrain, Concurrency: 32, Faults: inj,
		Timeout: soakFunctionTimeout, VisibilityTimeout: 10 * time.Second, Logs: logs, RecordLifecycleCalls: true,
		Env: []string{contract.StaleAfter.Env + "=1m", contract.DisconnectedAfter.Env + "=" + soakDisconnectedAfter.String(),
			contract.MaxLaunch.Env + "=" + soakMaxLaunch.String()},
	})
	if err != nil {
		return SoakReport{}, err
	}
	defer dw.Close()
	w := world{dw}
	if err := w.forwardOtherHooks(cfg.Deployment); err != nil {
		return SoakReport{}, err
	}
	regs := newRegistrations()
	if err := regs.watch(w.Bus); err != nil {
		return SoakReport{}, err
	}

	acct, drained, err := w.soakAccount(ctx, cfg, rng)
	if err != nil {
		return SoakReport{}, err
	}
	// The launch groups come before the service, so that their first
	// instances run some of its tasks: a refresh then drains them too.
	gated, err := w.launchAccount(ctx, cfg, regs)
	if err != nil {
		return SoakReport{}, err
	}
	// Service tasks move to a few spare instances with room for all of
	// them; a share of the drained instances also runs a standalone job,
	// and a few run one that never ends (released at the deadline).
	if err := w.AWS.ECS.CreateService(soakGroup, ecs.ServiceSpec{Name: "web", DesiredCount: cfg.Drains, CPU: 128, Memory: 128,
		StopDelay: time.Second, MinimumHealthyPercent: 50}); err != nil {
		return SoakReport{}, err
	}
	registered := drained[:len(drained)-len(acct.warm)]
	for _, id := range registered {
		switch p := rng.Float64(); {
		case p < 0.03:
			_, err = w.AWS.ECS.RunTask(soakGroup, id, ecs.TaskSpec{Family: "stuck", CPU: 128, Memory: 128})
		case p < 0.3:
			_, err = w.AWS.ECS.RunTask(soakGroup, id, ecs.TaskSpec{Family: "job", CPU: 128, Memory: 128, RunFor: time.Duration(2+rng.IntN(18)) * time.Second})
		}
		if err != nil {
			return SoakReport{}, err
		}
	}
	stuck, err := w.stuckAccount(ctx, cfg)
	if err != nil {
		return SoakReport{}, err
	}
	picked := w.pickFaults(rng, registered, cfg, acct)
	for id := range acct.attrLimit {
		if err := w.AWS.ECS.SetAttributes(id, customAttributes); err != nil {
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
	lost := &lossLog{rng: rand.New(rand.NewPCG(cfg.Seed, 0x1057)), rate: cfg.LoseRequeues}              // #nosec G404 -- seeded for a reproducible soak
	acct.team = w.NewOtherTeam(soakOtherHook, otherTeamDecide(rand.New(rand.NewPCG(cfg.Seed, 0x07ea)))) // #nosec G404 -- seeded for a reproducible soak
	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(ctx)
	defer func() { stopBG(); bg.Wait() }()
	bg.Go(func() { w.Reconcile(bgCtx, soakReconcile) })
	bg.Go(func() { w.watchQueue(bgCtx, chains, lost) })
	bg.Go(func() { acct.team.Run(bgCtx) })

	// Scale-out and refreshes start with the drains and run beside them.
	if err := w.startLaunches(ctx, gated); err != nil {
		return SoakReport{}, err
	}
	for _, id := range drained {
		if acct.long[id] {
			// The agent dies as its instance is scaled in: its tasks
			// never reach STOPPED, and only the disconnect policy (or
			// the deadline) can end the drain.
			if err := w.AWS.ECS.DisconnectAgent(id); err != nil {
				return SoakReport{}, err
			}
			acct.disconnect(id, time.Now())
		}
		if err := localdeploy.Retry(ctx, func() error { _, err := w.ASG.TerminateInstanceInAutoScalingGroup(ctx, terminate(id)); return err }); err != nil {
			return SoakReport{}, fmt.Errorf("terminating %s: %w", id, err)
		}
	}
	if err := w.startStuck(ctx, stuck); err != nil {
		return SoakReport{}, err
	}
	w.briefDisconnects(rng, acct)
	w.chaos(ctx, rng, picked, acct.group)

	// Wait until every lifecycle action ended (the other team's too),
	// every chain with it, every event the drains and launches caused was
	// handled, and the launch groups are done.
	var ends []groupEnd
	for ctx.Err() == nil {
		if w.pendingActions() == 0 {
			v, f, d := w.AWS.SQS.Counts(w.QueueURL)
			ev, ef, ed := w.AWS.SQS.Counts(w.EventQueueURL)
			if v+f+d+ev+ef+ed == 0 {
				if ends, err = w.groupEnds(ctx, gated); err == nil && settled(ends) {
					break
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopBG()
	bg.Wait()
	if ends, err = w.groupEnds(context.WithoutCancel(ctx), gated); err != nil {
		return SoakReport{}, fmt.Errorf("reading the launch groups: %w", err)
	}
	return w.soakReport(cfg, drained, picked, acct, gated, ends, stuck, chains, lost, logs, inj, start), nil
}

// soakAccount creates the soak's groups: the drainer's group with spares
// for the service tasks to move to, and SoakOtherGroup, whose instances are
// all drained, with another team's hook and a warm pool whose instances are
// terminated out of it. It returns the instances to drain, those of the
// warm pool last.
func (w world) soakAccount(ctx context.Context, cfg SoakConfig, rng *rand.Rand) (*account, []string, error) {
	acct := &account{group: map[string]string{}, attrLimit: map[string]bool{}, brief: map[string]bool{}, long: map[string]bool{},
		disconnected: map[string]time.Time{}, reconnected: map[string]time.Time{}}
	other := cfg.Drains / 5
	plain := cfg.Drains - other
	spares := cfg.Drains/24 + 2
	// Every group carries the launch hook, as the construct puts it on
	// each: the warm pool's launches pass it.
	spec := localdeploy.GroupSpec{Name: soakGroup, Cluster: soakGroup, Instances: plain + spares, Resources: soakResources, HeartbeatTimeout: soakHeartbeat,
		LaunchGate: true}
	ids, err := w.Group(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	drained := ids[:plain]
	spec.Name, spec.Instances = SoakOtherGroup, other
	oids, err := w.Group(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	if err := w.OtherHook(SoakOtherGroup, soakOtherHook, soakOtherHeartbeat); err != nil {
		return nil, nil, err
	}
	if acct.warm, err = w.WarmPool(ctx, SoakOtherGroup, max(2, cfg.Drains/100)); err != nil {
		return nil, nil, err
	}
	for _, id := range drained {
		acct.group[id] = soakGroup
	}
	for _, id := range append(slices.Clone(oids), acct.warm...) {
		acct.group[id] = SoakOtherGroup
	}
	rng.Shuffle(len(oids), func(i, j int) { oids[i], oids[j] = oids[j], oids[i] })
	drained = append(append(drained, oids...), acct.warm...)
	return acct, drained, nil
}

// pickFaults picks, among the registered instances to drain, cfg.Chaos for
// each kind of chaos, then the instances at the custom attribute limit and
// those whose agent disconnects briefly or for good (with tasks to drain,
// so the disconnect matters); no instance gets two. It returns the chaos
// done to each instance and fills acct.
func (w world) pickFaults(rng *rand.Rand, registered []string, cfg SoakConfig, acct *account) map[string]string {
	picked := map[string]string{}
	order := rng.Perm(len(registered))
	kinds := []string{chaosDeregistered, chaosCompleted, chaosExpired}
	i := 0
	for ; i < cfg.Chaos*len(kinds) && i < len(order); i++ {
		picked[registered[order[i]]] = kinds[i%len(kinds)]
	}
	few := max(2, cfg.Drains/50)
	for n := 0; n < few && i < len(order); i, n = i+1, n+1 {
		acct.attrLimit[registered[order[i]]] = true
	}
	for n := 0; n < few && i < len(order); i, n = i+1, n+1 {
		acct.brief[registered[order[i]]] = true
	}
	for n := 0; n < max(1, few/2) && i < len(order); i++ {
		if id := registered[order[i]]; len(w.LiveTasks(soakGroup, id, time.Time{})) > 0 {
			acct.long[id] = true
			n++
		}
	}
	return picked
}

// briefDisconnects disconnects each brief instance's agent a moment into
// its drain and reconnects it a few seconds later, well before
// DRAINER_DISCONNECTED_AFTER: the drain must carry on as if nothing
// happened.
func (w world) briefDisconnects(rng *rand.Rand, acct *account) {
	for _, id := range slices.Sorted(maps.Keys(acct.brief)) {
		after := time.Duration(500+rng.IntN(2500)) * time.Millisecond
		lasting := time.Second + time.Duration(rng.Int64N(int64(soakBriefMax-time.Second)))
		time.AfterFunc(after, func() {
			// An instance already released and gone has no agent left.
			if w.AWS.ECS.DisconnectAgent(id) != nil {
				return
			}
			acct.disconnect(id, time.Now())
			time.AfterFunc(lasting, func() {
				if w.AWS.ECS.ReconnectAgent(id) == nil {
					acct.reconnect(id, time.Now())
				}
			})
		})
	}
}

// poisonBody is the i-th record that can never succeed: not JSON, or a
// re-queue message of a version no build knows.
func poisonBody(i int) string {
	if i%2 == 1 {
		return fmt.Sprintf(`{"kind":"ecs-drainer/requeue","version":99,"n":%d}`, i)
	}
	return fmt.Sprintf("poison #%d: not an event", i)
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

// chaos does to each picked drain its kind of chaos a few seconds into
// its drain.
func (w world) chaos(ctx context.Context, rng *rand.Rand, picked, group map[string]string) {
	for _, id := range slices.Sorted(maps.Keys(picked)) {
		kind, g := picked[id], group[id]
		delay := time.Duration(500+rng.IntN(4000)) * time.Millisecond
		time.AfterFunc(delay, func() {
			switch kind {
			case chaosDeregistered:
				w.AWS.ECS.DeregisterEC2Instance(id)
			case chaosCompleted:
				_ = localdeploy.Retry(ctx, func() error {
					_, err := w.ASG.CompleteLifecycleAction(ctx, &sdkautoscaling.CompleteLifecycleActionInput{
						AutoScalingGroupName: aws.String(g), LifecycleHookName: aws.String(localdeploy.HookName),
						InstanceId: aws.String(id), LifecycleActionResult: aws.String("CONTINUE")})
					if err != nil && strings.Contains(err.Error(), "No active Lifecycle Action") {
						return nil // the drainer was first
					}
					return err
				})
			case chaosExpired:
				w.AWS.AutoScaling.ExpireAction(id, localdeploy.HookName)
			}
		})
	}
}

// pendingActions counts the lifecycle actions still pending, of every hook,
// launch and terminate.
func (w world) pendingActions() int {
	n := 0
	for _, a := range w.AWS.AutoScaling.Actions() {
		if a.Active {
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
	// launch counts the lost messages of launch chains.
	launch int
}

func (l *lossLog) decide(id string, launch bool) bool {
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
		if launch {
			l.launch++
		}
		return true
	}
	return false
}

// watchQueue records every re-queue message (their delay of at least a
// second keeps each on the queue for several looks) and loses the share
// the soak asks for.
func (w world) watchQueue(ctx context.Context, chains *chainLog, lost *lossLog) {
	localdeploy.Every(ctx, 100*time.Millisecond, func() bool {
		msgs, err := w.AWS.SQS.Messages(w.QueueURL)
		if err != nil {
			return false
		}
		for _, m := range msgs {
			if !strings.Contains(m.Body, `"kind":"ecs-drainer/requeue"`) || strings.Contains(m.Body, `"version":99`) {
				continue
			}
			msg, ok := chains.see(m.MessageID, m.Body)
			// A chain with no mark is the one thing the reconciler cannot
			// restart (the drainer says so when it starts one): losing
			// its message would only test Auto Scaling's heartbeat
			// timeout, so SQS keeps those. A launch chain has no mark
			// either, but the reconciler sweeps launches that wait long
			// (design.md, "The launch gate"), so any is lost.
			lose := ok && !msg.Unmarked && m.ReceiptHandle == ""
			if lose && lost.decide(m.MessageID, msg.Launch) {
				w.AWS.SQS.Lose(w.QueueURL, m.MessageID)
			}
		}
		return true
	})
}

func (w world) soakReport(cfg SoakConfig, drained []string, chaos map[string]string, acct *account, gated *launches, ends []groupEnd, stuck []stuckDrain,
	chains *chainLog, lost *lossLog, logs *outcomeLog, inj *faults.Injector, start time.Time) SoakReport {
	r := SoakReport{Seed: cfg.Seed, Poison: cfg.Poison, Faults: inj.Stats(), Wall: time.Since(start), LostMessages: lost.lost, LaunchLost: lost.launch,
		Warm: len(acct.warm), AttrLimit: len(acct.attrLimit), BriefDisconnects: len(acct.brief), LongDisconnects: len(acct.long)}
	r.Outcomes, r.Warnings = logs.counts()
	violate := func(format string, args ...any) { r.Violations = append(r.Violations, fmt.Sprintf(format, args...)) }
	all := w.AWS.AutoScaling.Actions()
	actions := map[string]autoscaling.ActionView{}
	hookOf := map[string]string{} // action token -> hook
	others := map[string]autoscaling.ActionView{}
	gatedGroup := map[string]bool{}
	for _, g := range gated.groups {
		gatedGroup[g.name] = true
	}
	drained = slices.Clone(drained)
	for _, a := range all {
		hookOf[a.Token] = a.Hook
		switch a.Hook {
		case localdeploy.HookName:
			actions[a.InstanceID] = a
			// The launch groups' drains: instances refreshed, and
			// launches abandoned, pass the terminate hook too.
			if gatedGroup[a.Group] {
				drained = append(drained, a.InstanceID)
				r.LaunchDrains++
			}
		case soakOtherHook:
			others[a.InstanceID] = a
		}
	}
	r.Drains = len(drained)
	byTeam := acct.team.Completed()
	warm := map[string]bool{}
	for _, id := range acct.warm {
		warm[id] = true
	}
	for _, id := range drained {
		a, ok := actions[id]
		o, held := others[id]
		abandoned := held && byTeam[o.Token] == autoscaling.ResultAbandon
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
		case a.End == autoscaling.EndSkipped && abandoned && !o.Ended.After(a.Ended):
			r.Skipped++ // the other team let the instance go first
			continue
		case a.End != autoscaling.EndCompleted:
			violate("%s: action ended %q", id, a.End)
			continue
		}
		r.Completed++
		if warm[id] {
			r.WarmDrained++
		}
		if acct.attrLimit[id] {
			r.AttrLimitDrained++
		}
		if held && o.Ended.After(a.Ended) {
			// The instance waited on the other team after the drainer
			// let it go: the team's time, not the drainer's.
			r.OtherHeldAfter++
		}
		if chaos[id] != "" {
			continue // the drainer did not decide this release
		}
		left := w.LiveTasks(soakGroup, id, a.Ended)
		drainHeld := a.Ended.Sub(a.Started)
		since, disconnected := acct.disconnectedAt(id)
		switch {
		case len(left) == 0:
		case drainHeld >= soakMaxDrain-time.Second:
			r.Deadlines++
		case acct.long[id] && disconnected && a.Ended.Sub(since) >= soakDisconnectedAfter-time.Second:
			r.DisconnectReleases++
			if !logs.logged(id, contract.OutcomeAgentDisconnected) {
				violate("%s: released %s after its agent disconnected with %d tasks running, but no agent_disconnected outcome was logged", id, a.Ended.Sub(since), len(left))
			}
		default:
			r.EarlyReleases++
			violate("%s: released after %s with %d tasks running", id, drainHeld, len(left))
		}
	}
	var stuckViolations []string
	r.Stuck, stuckViolations = checkStuck(stuckRecords{drains: stuck, actions: actions, diagnoses: logs.diagnosesByInstance(),
		endedStuck: logs.endedWith(contract.OutcomeStuck), maxDrain: soakMaxDrain, disconnectedAfter: soakDisconnectedAfter})
	r.Violations = append(r.Violations, stuckViolations...)
	var metricViolations []string
	r.Metrics, metricViolations = checkMetrics(metricRecords{log: logs.metrics, actions: all, calls: w.LifecycleCalls(), faults: inj.Stats(),
		kills: w.Function.Kills(), timeout: soakFunctionTimeout})
	r.Violations = append(r.Violations, metricViolations...)
	w.checkOtherHook(&r, others, byTeam, violate)
	w.checkOwnHook(&r, hookOf, violate)
	ignored, foreign := logs.otherHooks()
	r.OtherEventsIgnored = ignored
	for _, line := range foreign {
		violate("the drainer logged an outcome for another hook: %s", line)
	}
	if r.OtherActions > 0 && ignored == 0 {
		violate("no event of %s reached the drainer: ignoring other hooks' events went untested", soakOtherHook)
	}
	unmarked := map[string]bool{}
	for id := range acct.attrLimit {
		unmarked[id] = true
	}
	forks, launchForks := chains.forks()
	r.LaunchForks = launchForks
	for id, n := range forks {
		if unmarked[id] || chains.isUnmarked(id) {
			// No mark to converge on: a duplicate lives on until the
			// drain ends. A cost the drainer states, not a lost drain.
			r.UnmarkedForks += n
			continue
		}
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
	r.CallsPerDrain = float64(calls) / float64(max(1, len(drained)+len(stuck)))
	if r.CallsPerDrain > callsPerDrainBound {
		violate("%.1f AWS calls per drain, over the bound of %.0f", r.CallsPerDrain, callsPerDrainBound)
	}
	r.Invocations = w.Function.Stats().Invocations
	usable, failed, unreadable := gated.regs.snapshot()
	clusters := map[string]string{}
	for _, g := range SoakGroups {
		clusters[g] = soakGroup
	}
	var launchViolations []string
	r.Launch, launchViolations = checkLaunches(launchRecords{
		actions: all, calls: w.LifecycleCalls(), usable: usable, failed: failed, unreadable: unreadable,
		cluster: clusters, maxLaunch: soakMaxLaunch, groups: ends, end: time.Now(),
	})
	r.Violations = append(r.Violations, launchViolations...)
	if done := launchesDone(all, gatedGroup, ends); !done.IsZero() {
		r.LaunchWall = done.Sub(start)
	}
	slices.Sort(r.Violations)
	return r
}

// checkOtherHook checks the other team's actions: each ended by its team's
// hand (never lapsed, never completed by anyone else) and none ever
// heartbeated, since the team sends none: a heartbeat or a completion the
// team did not send can only be the drainer's.
func (w world) checkOtherHook(r *SoakReport, others map[string]autoscaling.ActionView, byTeam map[string]string, violate func(string, ...any)) {
	for id, o := range others {
		r.OtherActions++
		result, mine := byTeam[o.Token]
		switch {
		case o.Active:
			violate("%s: %s action never ended", id, soakOtherHook)
		case o.Heartbeats > 0:
			violate("%s: %d heartbeats on the %s action, which its team never sends", id, o.Heartbeats, soakOtherHook)
		case o.End == autoscaling.EndCompleted && !mine:
			violate("%s: %s action completed %s by someone other than its team", id, soakOtherHook, o.Result)
		case o.End == autoscaling.EndCompleted:
			r.OtherCompleted++
			if result == autoscaling.ResultAbandon {
				r.OtherAbandoned++
			}
		case o.End == autoscaling.EndTimedOut:
			violate("%s: %s action lapsed before its team completed it", id, soakOtherHook)
		}
	}
}

// checkOwnHook checks the drainer's lifecycle calls, as the recorder in
// front of the function saw them: every CompleteLifecycleAction and
// RecordLifecycleActionHeartbeat names the drainer's hook, and a token
// names an action of that hook.
func (w world) checkOwnHook(r *SoakReport, hookOf map[string]string, violate func(string, ...any)) {
	for _, c := range w.LifecycleCalls() {
		r.DrainerLifecycleCalls++
		switch {
		case !ownHook(c.Hook):
			r.ForeignLifecycleCalls++
			violate("%s: the drainer sent %s for hook %q (answered %d)", c.InstanceID, c.Operation, c.Hook, c.Status)
		case c.Token != "" && hookOf[c.Token] != "" && hookOf[c.Token] != c.Hook:
			r.ForeignLifecycleCalls++
			violate("%s: the drainer sent %s with the token of a %s action (answered %d)", c.InstanceID, c.Operation, hookOf[c.Token], c.Status)
		}
	}
	if r.DrainerLifecycleCalls == 0 {
		violate("the recorder saw no lifecycle call from the drainer: the own-hook invariant checked nothing")
	}
}
