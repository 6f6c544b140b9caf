package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// The launch gate in the soak (issue 13). Three more groups of the soak's
// cluster take new instances through the launch hook while the drains run:
// one scales out (its warm pool's instances first), one is refreshed with
// AWS's default preferences (terminate and launch, one instance at a time),
// one launching before it terminates. Their ECS agents register after a
// seeded, jittered delay; a few fail their registration
// (REGISTRATION_FAILED), a few never register. Every group carries the
// launch hook, as the construct puts it on each, so the warm pools' launches
// pass it too. The invariants are read from the local AWS's own records: the
// lifecycle actions Auto Scaling kept, and the container instance state
// changes ECS emitted.
const (
	soakScaleGroup   = "soak-scale"
	soakRefreshGroup = "soak-refresh"
	// soakSurgeGroup is refreshed launch before terminate
	// (MaxHealthyPercentage above 100).
	soakSurgeGroup = "soak-refresh-surge"

	// soakMaxLaunch is the soak's DRAINER_MAX_LAUNCH, the least the
	// function accepts: a silent agent's launch is abandoned a minute in.
	soakMaxLaunch = time.Minute
	// An agent that joins registers soakRegisterAfter plus up to
	// soakRegisterJitter after its instance is up, as agents do some
	// seconds after boot.
	soakRegisterAfter  = time.Second
	soakRegisterJitter = 5 * time.Second
	// soakSilentDelay is a silent agent's registration delay: never,
	// within a soak.
	soakSilentDelay = 24 * time.Hour
	// maxLaunchSlack is how far before DRAINER_MAX_LAUNCH, counted from
	// the action's start, a deadline ABANDON may land: the function counts
	// from its event's time, which EventBridge writes in whole seconds.
	maxLaunchSlack = 2 * time.Second
)

// launchWork is what the soak does to a launch group.
type launchWork int

const (
	scaleOut      launchWork = iota + 1 // raise the desired capacity
	refreshPlain                        // instance refresh, AWS's default preferences
	refreshLaunch                       // instance refresh, launch before terminate
)

// launchGroup is one of the groups the launch gate is soaked on.
type launchGroup struct {
	name string
	work launchWork
	// The initial instances register at once, before the launch hook and
	// the agent model are in place; the work then launches that many more
	// (a refresh one per initial instance), replacements of abandoned ones
	// aside.
	initial, launches int
	// fails and silent of the work's launches get an agent that fails its
	// registration or never registers.
	fails, silent int
	// warm is the size of the group's warm pool (0: none).
	warm int
	// registeringFor and connectAfter shape every agent of the group
	// (localaws.Agent).
	registeringFor, connectAfter time.Duration
}

// launchGroups are the launch groups of a soak of drains drains: a few
// dozen launches in the long soak, a dozen in the short one, each group
// with at least one agent that fails and one that never registers.
func launchGroups(drains int) []launchGroup {
	scale := max(4, drains/20)
	plain := max(3, min(6, drains/10))
	surge := max(4, drains/50)
	// A group's maximum size is twice its first instances and one
	// (localdeploy.Group): the scale-out group starts big enough to
	// double.
	return []launchGroup{
		{name: soakScaleGroup, work: scaleOut, initial: scale - 1, launches: scale, fails: max(1, scale/8), silent: max(1, scale/12), warm: 2,
			registeringFor: 2 * time.Second},
		{name: soakRefreshGroup, work: refreshPlain, initial: plain, launches: plain, fails: 1, silent: 1},
		{name: soakSurgeGroup, work: refreshLaunch, initial: surge, launches: surge, fails: 1, silent: 1,
			registeringFor: time.Second, connectAfter: time.Second},
	}
}

// agentKind is what the ECS agent on a new instance does.
type agentKind int

const (
	agentJoins  agentKind = iota // registers after a jittered delay, ACTIVE
	agentFails                   // ends REGISTRATION_FAILED: the gate must ABANDON
	agentSilent                  // never registers: ABANDON at DRAINER_MAX_LAUNCH
)

// agentPlan deals each new instance of a group its agent's kind, in the
// order the instances come up: the first launches share the group's
// failing and silent agents between them, shuffled; every later one, the
// replacements of those abandoned, joins, so the group converges.
type agentPlan struct {
	mu    sync.Mutex
	rng   *rand.Rand
	deck  []agentKind
	kinds map[string]agentKind
}

func newAgentPlan(rng *rand.Rand, g launchGroup) *agentPlan {
	deck := make([]agentKind, max(g.launches, g.fails+g.silent))
	for i := range g.fails + g.silent {
		deck[i] = agentFails
		if i >= g.fails {
			deck[i] = agentSilent
		}
	}
	rng.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
	return &agentPlan{rng: rng, deck: deck, kinds: map[string]agentKind{}}
}

// kind deals the instance its agent's kind on first ask.
func (p *agentPlan) kind(id string) agentKind {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k, ok := p.kinds[id]; ok {
		return k
	}
	k := agentJoins
	if len(p.deck) > 0 {
		k, p.deck = p.deck[0], p.deck[1:]
	}
	p.kinds[id] = k
	return k
}

// delay is localaws.Agent.RegisterDelay.
func (p *agentPlan) delay(id string) time.Duration {
	if p.kind(id) == agentSilent {
		return soakSilentDelay
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return soakRegisterAfter + time.Duration(p.rng.Int64N(int64(soakRegisterJitter)))
}

// fail is localaws.Agent.Fail: ECS's default statusReason.
func (p *agentPlan) fail(id string) (string, bool) {
	return "", p.kind(id) == agentFails
}

// launches is the soak's launch groups and their agents.
type launches struct {
	groups []launchGroup
	plans  map[string]*agentPlan // by group
	regs   *registrations
}

// launchAccount creates the launch groups in the soak's cluster: their
// first instances registered at once, then the template's launch hook and
// the agent model, then the warm pool, whose launches the gate completes at
// once.
func (w world) launchAccount(ctx context.Context, cfg SoakConfig, regs *registrations) (*launches, error) {
	l := &launches{groups: launchGroups(cfg.Drains), plans: map[string]*agentPlan{}, regs: regs}
	for i, g := range l.groups {
		plan := newAgentPlan(rand.New(rand.NewPCG(cfg.Seed, 0x1a0c+uint64(i))), g) // #nosec G404 G115 -- seeded for a reproducible soak
		l.plans[g.name] = plan
		_, err := w.Group(ctx, localdeploy.GroupSpec{Name: g.name, Cluster: soakGroup, Instances: g.initial,
			Resources: soakResources, HeartbeatTimeout: soakHeartbeat, LaunchGate: true,
			Agent: &localaws.Agent{RegisterDelay: plan.delay, Fail: plan.fail, RegisteringFor: g.registeringFor, ConnectAfter: g.connectAfter}})
		if err != nil {
			return nil, err
		}
		if g.warm > 0 {
			if _, err := w.WarmPool(ctx, g.name, g.warm); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

// start starts each group's work through the API, as a scaling policy or a
// deployment pipeline would.
func (w world) startLaunches(ctx context.Context, l *launches) error {
	for _, g := range l.groups {
		var call func() error
		switch g.work {
		case scaleOut:
			desired := int32(g.initial + g.launches) // #nosec G115 -- a few dozen instances
			call = func() error {
				_, err := w.ASG.SetDesiredCapacity(ctx, &sdkautoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(g.name), DesiredCapacity: &desired})
				return err
			}
		case refreshPlain, refreshLaunch:
			in := &sdkautoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String(g.name)}
			if g.work == refreshLaunch {
				in.Preferences = &asgtypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(100), MaxHealthyPercentage: aws.Int32(150)}
			}
			call = func() error {
				_, err := w.ASG.StartInstanceRefresh(ctx, in)
				var apiErr smithy.APIError
				if errors.As(err, &apiErr) && apiErr.ErrorCode() == "InstanceRefreshInProgress" {
					return nil // an attempt the faults answered with an error started it
				}
				return err
			}
		}
		if err := localdeploy.Retry(ctx, call); err != nil {
			return fmt.Errorf("starting the work of %s: %w", g.name, err)
		}
	}
	return nil
}

// groupEnd is a launch group as the soak found it at the end.
type groupEnd struct {
	Name      string
	Desired   int
	InService []string
	// Unusable are the instances in service that ECS cannot place tasks
	// on: not registered in the hook's cluster, not ACTIVE, or their agent
	// not connected.
	Unusable []string
	// Refresh is the status of the group's latest instance refresh, ""
	// when it has none; WantRefresh says the soak started one.
	Refresh     string
	WantRefresh bool
	// RefreshEnded is when that refresh ended; zero while it runs.
	RefreshEnded time.Time
}

// groupEnds reads each launch group's desired capacity, instances in
// service and latest refresh through the API, and asks ECS whether it can
// use each instance in service.
func (w world) groupEnds(ctx context.Context, l *launches) ([]groupEnd, error) {
	names := make([]string, 0, len(l.groups))
	for _, g := range l.groups {
		names = append(names, g.name)
	}
	var out *sdkautoscaling.DescribeAutoScalingGroupsOutput
	err := localdeploy.Retry(ctx, func() (err error) {
		out, err = w.ASG.DescribeAutoScalingGroups(ctx, &sdkautoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: names})
		return err
	})
	if err != nil {
		return nil, err
	}
	byName := map[string]asgtypes.AutoScalingGroup{}
	for _, g := range out.AutoScalingGroups {
		byName[aws.ToString(g.AutoScalingGroupName)] = g
	}
	var ends []groupEnd
	for _, g := range l.groups {
		sg, ok := byName[g.name]
		if !ok {
			return nil, fmt.Errorf("group %s not found", g.name)
		}
		e := groupEnd{Name: g.name, Desired: int(aws.ToInt32(sg.DesiredCapacity)), WantRefresh: g.work != scaleOut}
		for _, in := range sg.Instances {
			if string(in.LifecycleState) != autoscaling.StateInService {
				continue
			}
			id := aws.ToString(in.InstanceId)
			e.InService = append(e.InService, id)
			if v, ok := w.AWS.ECS.Instance(id); !ok || v.Cluster != soakGroup || v.Status != contract.InstanceActive || !v.AgentConnected {
				e.Unusable = append(e.Unusable, id)
			}
		}
		if e.WantRefresh {
			var r *sdkautoscaling.DescribeInstanceRefreshesOutput
			err := localdeploy.Retry(ctx, func() (err error) {
				r, err = w.ASG.DescribeInstanceRefreshes(ctx, &sdkautoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(g.name)})
				return err
			})
			if err != nil {
				return nil, err
			}
			var latest time.Time
			for _, ir := range r.InstanceRefreshes {
				if t := aws.ToTime(ir.StartTime); e.Refresh == "" || t.After(latest) {
					e.Refresh, e.RefreshEnded, latest = string(ir.Status), aws.ToTime(ir.EndTime), t
				}
			}
		}
		ends = append(ends, e)
	}
	return ends, nil
}

// settled reports whether the launch groups are done: each at its desired
// capacity in service, its refresh over.
func settled(ends []groupEnd) bool {
	for _, e := range ends {
		if len(e.InService) != e.Desired || e.WantRefresh && (e.Refresh == "" || e.Refresh == "Pending" || e.Refresh == "InProgress") {
			return false
		}
	}
	return true
}

// launchesDone is when the launch groups' work was done: the last of their
// launch actions ended, and their refreshes; zero if any is still going.
func launchesDone(actions []autoscaling.ActionView, gated map[string]bool, ends []groupEnd) time.Time {
	var done time.Time
	later := func(t time.Time) {
		if t.After(done) {
			done = t
		}
	}
	for _, a := range actions {
		if a.Transition != autoscaling.TransitionLaunching || !gated[a.Group] {
			continue
		}
		if a.Active {
			return time.Time{}
		}
		later(a.Ended)
	}
	for _, e := range ends {
		if e.WantRefresh && e.RefreshEnded.IsZero() {
			return time.Time{}
		}
		later(e.RefreshEnded)
	}
	return done
}

// registrations keeps, from the container instance state change events the
// local ECS emits, when each EC2 instance first became usable (ACTIVE, its
// agent connected) in each cluster, and which registrations failed. The
// times are ECS's own, each event's updatedAt, not when the soak read the
// event: the bus delivers in parallel and in any order.
type registrations struct {
	mu         sync.Mutex
	usable     map[string]map[string]time.Time // EC2 instance -> cluster -> first usable
	failed     map[string]string               // EC2 instance -> statusReason
	unreadable int
}

func newRegistrations() *registrations {
	return &registrations{usable: map[string]map[string]time.Time{}, failed: map[string]string{}}
}

// watch adds a rule for every container instance state change to the bus,
// with the soak as its target.
func (r *registrations) watch(bus *eventbridge.Bus) error {
	const name = "soak-registrations"
	pattern := fmt.Sprintf(`{"source":["aws.ecs"],"detail-type":[%q]}`, contract.DetailTypeInstanceState)
	if err := bus.PutRule(name, []byte(pattern)); err != nil {
		return err
	}
	return bus.AddTarget(name, func(_ context.Context, event []byte) error {
		r.record(event)
		return nil
	})
}

// record reads one event. One it cannot read is counted: it could hide an
// instance becoming usable, so the soak reports it.
func (r *registrations) record(event []byte) {
	var e struct {
		Detail struct {
			AgentConnected bool   `json:"agentConnected"`
			ClusterArn     string `json:"clusterArn"`
			EC2InstanceID  string `json:"ec2InstanceId"`
			Status         string `json:"status"`
			StatusReason   string `json:"statusReason"`
			UpdatedAt      string `json:"updatedAt"`
		} `json:"detail"`
	}
	err := json.Unmarshal(event, &e)
	d := e.Detail
	at, terr := time.Parse(time.RFC3339Nano, d.UpdatedAt)
	_, cluster, _ := strings.Cut(d.ClusterArn, ":cluster/")
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || terr != nil || d.EC2InstanceID == "" || cluster == "" {
		r.unreadable++
		return
	}
	switch {
	case d.Status == contract.InstanceActive && d.AgentConnected:
		if r.usable[d.EC2InstanceID] == nil {
			r.usable[d.EC2InstanceID] = map[string]time.Time{}
		}
		if t, ok := r.usable[d.EC2InstanceID][cluster]; !ok || at.Before(t) {
			r.usable[d.EC2InstanceID][cluster] = at
		}
	case d.Status == drain.StatusRegistrationFailed:
		r.failed[d.EC2InstanceID] = d.StatusReason
	}
}

// snapshot copies what was recorded.
func (r *registrations) snapshot() (usable map[string]map[string]time.Time, failed map[string]string, unreadable int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	usable = map[string]map[string]time.Time{}
	for id, m := range r.usable {
		usable[id] = maps.Clone(m)
	}
	return usable, maps.Clone(r.failed), r.unreadable
}

// span is a stretch of time.
type span struct{ from, to time.Time }

// launchRecords are the records the launch invariants are checked on, all
// the local AWS's: Auto Scaling's lifecycle actions, ECS's registrations,
// the lifecycle calls the function sent, the groups at the end.
type launchRecords struct {
	actions []autoscaling.ActionView
	calls   []localdeploy.LifecycleCall
	usable  map[string]map[string]time.Time // EC2 instance -> cluster -> first usable
	failed  map[string]string               // EC2 instance -> statusReason
	// unreadable counts ECS events the soak could not read.
	unreadable int
	// cluster is the cluster each group's hooks name.
	cluster map[string]string
	// down are the stretches the drainer was deliberately down: a launch
	// that lapsed then is Auto Scaling's DefaultResult doing its job.
	down      []span
	maxLaunch time.Duration
	groups    []groupEnd
	end       time.Time // when the soak stopped waiting
}

// launchCounts count the launch actions of the drainer's hook by how they
// ended, and the launch groups and refreshes that ended as they should.
type launchCounts struct {
	Launches     int
	Ready        int // completed CONTINUE once ECS could use the instance
	IntoWarmPool int // completed CONTINUE at once, into the warm pool
	// Abandoned are completed ABANDON: RegistrationFailed on ECS's word,
	// Deadline at DRAINER_MAX_LAUNCH.
	Abandoned, RegistrationFailed, Deadline int
	// Early let an instance in with CONTINUE before ECS could use it and
	// Pending were left pending at the end, both violations; Lapsed ended
	// by the heartbeat timeout.
	Early, Lapsed, Pending int
	// GroupsReady of Groups ended at their desired capacity, every instance
	// in service usable by ECS; RefreshesDone of Refreshes succeeded.
	Groups, GroupsReady, Refreshes, RefreshesDone int
}

func (r launchRecords) downAt(t time.Time) bool {
	return slices.ContainsFunc(r.down, func(s span) bool { return !t.Before(s.from) && !t.After(s.to) })
}

// completedByDrainer reports whether the function sent the completion that
// ended a, naming it by its token, or by instance and hook.
func (r launchRecords) completedByDrainer(a autoscaling.ActionView) bool {
	return slices.ContainsFunc(r.calls, func(c localdeploy.LifecycleCall) bool {
		return c.Operation == "CompleteLifecycleAction" && c.Result == a.Result && c.Hook == a.Hook &&
			(c.Token == a.Token || c.Token == "" && c.InstanceID == a.InstanceID)
	})
}

// checkLaunches checks the launch gate's invariants on the records: (a) no
// launch action let an instance in with CONTINUE before ECS could use it
// (ACTIVE, agent connected, in the hook's cluster), whether the drainer
// completed it or its heartbeat timeout lapsed while the drainer ran; (b)
// none is left pending; (c) every instance whose registration failed was
// abandoned; and an ABANDON is only ever for a failed registration or at
// DRAINER_MAX_LAUNCH, never of an instance ECS could use. Each launch group
// ends at its desired capacity with every instance in service usable (the
// abandoned ones replaced), and each refresh succeeds.
func checkLaunches(r launchRecords) (launchCounts, []string) {
	var c launchCounts
	var v []string
	violate := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	clock := func(t time.Time) string { return t.UTC().Format("15:04:05.000") }
	launched := map[string]bool{}
	for _, a := range r.actions {
		if a.Hook != contract.LaunchHookName {
			continue
		}
		c.Launches++
		id := a.InstanceID
		launched[id] = true
		usableAt, usable := r.usable[id][r.cluster[a.Group]]
		usableBy := func(t time.Time) bool { return usable && !usableAt.After(t) }
		since := "never usable"
		if usable {
			since = "usable from " + clock(usableAt)
		}
		reason, failed := r.failed[id]
		intoPool := a.Destination == autoscaling.OriginWarmPool
		if a.Active {
			c.Pending++
			violate("%s: launch action still pending at the end, %s after it started (%s)", id, r.end.Sub(a.Started).Round(time.Second), since)
			continue
		}
		// A warm-pool instance's launch into the pool passes at once; its
		// agent starts only when it leaves the pool, under a new action.
		if failed && !intoPool && (a.End != autoscaling.EndCompleted || a.Result != autoscaling.ResultAbandon) {
			violate("%s: REGISTRATION_FAILED (%s), but its launch action ended %s %s, not completed ABANDON", id, reason, a.End, a.Result)
		}
		switch {
		case a.End == autoscaling.EndTimedOut:
			c.Lapsed++
			if r.downAt(a.Ended) {
				break
			}
			if a.Result == autoscaling.ResultContinue && !intoPool && !usableBy(a.Ended) {
				c.Early++
			}
			violate("%s: launch action lapsed at %s while the drainer ran: Auto Scaling applied the DefaultResult %s (%s)", id, clock(a.Ended), a.Result, since)
		case a.End != autoscaling.EndCompleted:
			violate("%s: launch action ended %q at %s, not completed", id, a.End, clock(a.Ended))
		case !r.completedByDrainer(a):
			violate("%s: launch action completed %s at %s, but the drainer sent no such completion", id, a.Result, clock(a.Ended))
		case a.Result == autoscaling.ResultContinue && intoPool:
			c.IntoWarmPool++
		case a.Result == autoscaling.ResultContinue && !usableBy(a.Ended):
			c.Early++
			violate("%s: launch completed CONTINUE at %s, before ECS could use the instance (%s)", id, clock(a.Ended), since)
		case a.Result == autoscaling.ResultContinue:
			c.Ready++
		case failed:
			c.Abandoned++
			c.RegistrationFailed++
		case usableBy(a.Ended):
			c.Abandoned++
			violate("%s: launch completed ABANDON at %s, though ECS could use the instance (%s)", id, clock(a.Ended), since)
		case a.Ended.Sub(a.Started) < r.maxLaunch-maxLaunchSlack:
			c.Abandoned++
			violate("%s: launch completed ABANDON %s after it started, before DRAINER_MAX_LAUNCH (%s), with no REGISTRATION_FAILED", id, a.Ended.Sub(a.Started).Round(time.Millisecond), r.maxLaunch)
		default:
			c.Abandoned++
			c.Deadline++
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.failed)) {
		if !launched[id] {
			violate("%s: REGISTRATION_FAILED (%s) with no launch action of the drainer's hook", id, r.failed[id])
		}
	}
	if r.unreadable > 0 {
		violate("%d container instance events the soak could not read: the launch invariants may have missed a registration", r.unreadable)
	}
	for _, g := range r.groups {
		c.Groups++
		ok := true
		if len(g.InService) != g.Desired {
			ok = false
			violate("%s: %d instances in service at the end, want its desired %d (an abandoned launch not replaced?)", g.Name, len(g.InService), g.Desired)
		}
		if len(g.Unusable) > 0 {
			ok = false
			violate("%s: in service at the end but not usable by ECS: %s", g.Name, strings.Join(g.Unusable, ", "))
		}
		if ok {
			c.GroupsReady++
		}
		if g.WantRefresh {
			c.Refreshes++
			if g.Refresh == "Successful" {
				c.RefreshesDone++
			} else {
				violate("%s: instance refresh %s at the end, want Successful", g.Name, cmp.Or(g.Refresh, "not found"))
			}
		}
	}
	return c, v
}
