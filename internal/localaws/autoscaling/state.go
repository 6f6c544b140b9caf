package autoscaling

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Instance lifecycle states, as the LifecycleState enum of the API model
// spells them. Standby, detaching, root volume replacement and the
// *:Retained states are not reachable here.
const (
	StatePending            = "Pending"
	StatePendingWait        = "Pending:Wait"
	StatePendingProceed     = "Pending:Proceed"
	StateInService          = "InService"
	StateTerminating        = "Terminating"
	StateTerminatingWait    = "Terminating:Wait"
	StateTerminatingProceed = "Terminating:Proceed"
	StateTerminated         = "Terminated"

	StateWarmedPending            = "Warmed:Pending"
	StateWarmedPendingWait        = "Warmed:Pending:Wait"
	StateWarmedPendingProceed     = "Warmed:Pending:Proceed"
	StateWarmedStopped            = "Warmed:Stopped"
	StateWarmedRunning            = "Warmed:Running"
	StateWarmedHibernated         = "Warmed:Hibernated"
	StateWarmedTerminating        = "Warmed:Terminating"
	StateWarmedTerminatingWait    = "Warmed:Terminating:Wait"
	StateWarmedTerminatingProceed = "Warmed:Terminating:Proceed"
	StateWarmedTerminated         = "Warmed:Terminated"
)

// The emulator has no health checks, so every instance is healthy, written
// as each shape writes it: AutoScalingInstanceDetails (DescribeAutoScalingInstances)
// in capitals, the Instance shape (DescribeAutoScalingGroups,
// DescribeWarmPool) capitalised, as the API reference's and the CLI
// reference's examples show.
const (
	healthyDetail   = "HEALTHY"
	healthyInstance = "Healthy"
)

// azSuffixes are the Availability Zones of every group, <region>a..c.
var azSuffixes = []string{"a", "b", "c"}

type group struct {
	name, arn         string
	min, max, desired int
	created           time.Time
	azs               []string
	instances         []*instance // members and warm-pool instances in launch order; Terminated ones are removed
	hooks             []*Hook     // in creation order, the order DescribeLifecycleHooks lists them
	refreshes         []*refresh  // oldest first
	pool              *warmPool   // nil without a warm pool
	// maintenance is the instance maintenance policy; nil without one.
	maintenance *maintenancePolicy
	// defaultWarmup is DefaultInstanceWarmup; nil when not set.
	defaultWarmup *time.Duration
	activities    []*activity // the group's scaling activities, oldest first
	// request is the first sentence of the causes of what reconcile next
	// does for the group: the user request that last changed its desired
	// capacity, if one did since reconcile last ran.
	request string
}

type instance struct {
	id, az    string
	group     *group
	state     string
	protected bool
	launched  time.Time
	seq       int // launch order, which breaks ties between equal launch times
	// origin is where a launching instance comes from, OriginEC2 or
	// OriginWarmPool, for its launch events.
	origin string
	// readyAt ends the timed step of a launch: the boot in Pending or
	// Warmed:Pending, the stop into the pool state in Warmed:Pending or
	// Warmed:Pending:Proceed (stopping set), the moment Pending:Proceed
	// turns InService.
	readyAt  time.Time
	stopping bool
	goneAt   time.Time // Terminating or Terminating:Proceed (and their Warmed: twins) → Terminated
	// replacing marks an instance an instance refresh has picked: it no
	// longer counts toward the desired capacity, so the group launches its
	// replacement before the refresh terminates it.
	replacing bool
	// stale marks a warm-pool instance an instance refresh will replace:
	// scale out does not take it.
	stale bool
	// inServiceAt is when the instance last entered InService, after its
	// launch hooks: an instance refresh's warm-up starts there.
	inServiceAt time.Time
	actions     []*action
	// activity is the instance's latest scaling activity: its launch
	// while it launches, its termination once it leaves.
	activity *activity
}

// warm reports whether the instance is in the warm pool (a Warmed: state),
// on its way in, resting there, or terminating out of it.
func (in *instance) warm() bool { return strings.HasPrefix(in.state, "Warmed:") }

// live reports whether the instance is a member of its group on its way in
// or in service.
func (in *instance) live() bool {
	switch in.state {
	case StatePending, StatePendingWait, StatePendingProceed, StateInService:
		return true
	}
	return false
}

// inCapacity reports whether the instance counts toward the group's desired
// capacity: instances on their way out do not, which is what makes the group
// launch a replacement for one terminated without decrementing.
func (in *instance) inCapacity() bool { return in.live() && !in.replacing }

// leaving reports whether the instance is on its way to EC2's terminated.
func (in *instance) leaving() bool {
	switch in.state {
	case StateTerminating, StateTerminatingWait, StateTerminatingProceed, StateTerminated,
		StateWarmedTerminating, StateWarmedTerminatingWait, StateWarmedTerminatingProceed, StateWarmedTerminated:
		return true
	}
	return false
}

func (in *instance) gone() bool {
	return in.state == StateTerminated || in.state == StateWarmedTerminated
}

// inPool reports whether the instance counts toward the warm pool's size:
// it is warm and not terminating.
func (in *instance) inPool() bool { return in.warm() && !in.leaving() }

// waiting reports whether lifecycle actions hold the instance.
func (in *instance) waiting() bool {
	switch in.state {
	case StatePendingWait, StateTerminatingWait, StateWarmedPendingWait, StateWarmedTerminatingWait:
		return true
	}
	return false
}

func newInstanceID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "i-" + hex.EncodeToString(b[:])[:17]
}

func groupNotFound(name string) *awswire.Error {
	return awswire.ClientError("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
}

func (s *Server) group(name string) (*group, *awswire.Error) {
	g, ok := s.groups[name]
	if !ok {
		return nil, groupNotFound(name)
	}
	return g, nil
}

func (s *Server) createGroup(name string, min, max, desired int, at time.Time) (*group, *awswire.Error) {
	if _, ok := s.groups[name]; ok {
		return nil, awswire.ClientError("AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
	}
	if min < 0 || min > max || desired < min || desired > max {
		return nil, awswire.ClientError("ValidationError", "Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, min, max)
	}
	g := &group{
		name:    name,
		arn:     fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", s.region, s.account, awswire.NewRequestID(), name),
		min:     min,
		max:     max,
		desired: desired,
		created: at,
		request: sentence(at, "a user request created an AutoScalingGroup changing the desired capacity from 0 to %d", desired),
	}
	for _, z := range azSuffixes {
		g.azs = append(g.azs, s.region+z)
	}
	s.groups[name] = g
	return g, nil
}

func (s *Server) setDesired(g *group, desired int, at time.Time) *awswire.Error {
	if desired > g.max {
		return awswire.ClientError("ValidationError", "New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", desired, g.max)
	}
	if desired < g.min {
		return awswire.ClientError("ValidationError", "New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", desired, g.min)
	}
	g.request = sentence(at, "a user request explicitly set group desired capacity changing the desired capacity from %d to %d", g.desired, desired)
	g.desired = desired
	return nil
}

func (s *Server) capacity(g *group) []*instance {
	var in []*instance
	for _, i := range g.instances {
		if i.inCapacity() {
			in = append(in, i)
		}
	}
	return in
}

// reconcile brings every group to its desired capacity at time at: it first
// lets an instance refresh pick or retire instances, then scales out (from
// the warm pool first) or in (into the warm pool when its reuse policy says
// so), and last brings the warm pool to its size.
func (s *Server) reconcile(at time.Time) {
	for _, name := range sortedKeys(s.groups) {
		g := s.groups[name]
		s.stepRefresh(g, at)
		live := s.capacity(g)
		if len(live) < g.desired {
			why := launchCause(g, len(live), at)
			for len(live) < g.desired {
				live = append(live, s.scaleOut(g, live, why, at))
			}
		}
		victims := scaleInVictims(live, len(live)-g.desired)
		var why string
		if len(victims) > 0 {
			why = scaleInCause(g, live, victims, at)
		}
		for _, victim := range victims {
			if p := g.pool; p != nil && p.reuse != nil && *p.reuse && !p.deleting {
				s.returnToPool(victim, at)
			} else {
				s.terminate(victim, why, at)
			}
		}
		s.sizePool(g, at)
		g.request = ""
	}
}

// scaleOut adds one instance to the group: a warm-pool instance that is
// ready if there is one, otherwise a new one. "If your warm pool is depleted
// when there is a scale-out event, instances will launch directly into the
// Auto Scaling group (a cold start)"
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html).
func (s *Server) scaleOut(g *group, live []*instance, why string, at time.Time) *instance {
	var ready []*instance
	if g.pool != nil && !g.pool.deleting {
		for _, in := range g.instances {
			if restingInPool(in.state) && !in.stale {
				ready = append(ready, in)
			}
		}
	}
	if len(ready) == 0 {
		return s.launch(g, live, false, why, at)
	}
	count := azCount(live)
	pick := ready[0]
	for _, in := range ready[1:] {
		if count[in.az] < count[pick.az] {
			pick = in
		}
	}
	s.leavePool(pick, why, at)
	return pick
}

func azCount(instances []*instance) map[string]int {
	count := map[string]int{}
	for _, i := range instances {
		count[i.az]++
	}
	return count
}

// launch starts one new instance, into the group or into its warm pool, in
// the Availability Zone with the fewest of its peers, as AWS balances
// launches across zones, and records its activity with the cause given.
func (s *Server) launch(g *group, peers []*instance, warm bool, why string, at time.Time) *instance {
	count := azCount(peers)
	az := g.azs[0]
	for _, z := range g.azs[1:] {
		if count[z] < count[az] {
			az = z
		}
	}
	in := &instance{
		id:       newInstanceID(),
		az:       az,
		group:    g,
		state:    StatePending,
		launched: at,
		seq:      len(s.launched),
		origin:   OriginEC2,
		readyAt:  at.Add(s.bootTime),
	}
	description := descLaunch
	if warm {
		in.state, description = StateWarmedPending, descLaunchIntoPool
	}
	g.instances = append(g.instances, in)
	s.instances[in.id] = in
	s.launched = append(s.launched, in)
	s.record(in, true, description, why, at)
	return in
}

// leavePool starts a warm instance into the group, a launch with its own
// activity: a stopped or hibernated one boots again, a running one is up
// already.
func (s *Server) leavePool(in *instance, why string, at time.Time) {
	boot := s.bootTime
	if in.state == StateWarmedRunning {
		boot = 0
	}
	in.state, in.origin, in.readyAt = StatePending, OriginWarmPool, at.Add(boot)
	s.record(in, true, descLaunchFromPool, why, at)
}

// scaleInVictims picks n instances to terminate. It simplifies the default
// termination policy to its first and last criteria: take from the
// Availability Zone with the most live instances, then the oldest launch
// (ties by instance ID, for determinism). The launch-template and
// billing-hour criteria do not apply to an emulator with one template and no
// billing. Instances protected from scale in are never picked, so a group
// whose unprotected instances run out stays above its desired capacity, as on
// AWS.
func scaleInVictims(live []*instance, n int) []*instance {
	var victims []*instance
	remaining := slices.Clone(live)
	for ; n > 0; n-- {
		count := azCount(remaining)
		var pick *instance
		for _, i := range remaining {
			if i.protected {
				continue
			}
			if pick == nil || count[i.az] > count[pick.az] ||
				count[i.az] == count[pick.az] && (i.launched.Before(pick.launched) || i.launched.Equal(pick.launched) && i.seq < pick.seq) {
				pick = i
			}
		}
		if pick == nil {
			break
		}
		victims = append(victims, pick)
		remaining = slices.DeleteFunc(remaining, func(i *instance) bool { return i == pick })
	}
	return victims
}

// instanceInGroup returns an instance of a group or of its warm pool that is
// not Terminated, the only instances the group-scoped operations accept.
func (s *Server) instanceInGroup(id string) (*instance, *awswire.Error) {
	in, ok := s.instances[id]
	if !ok || in.gone() {
		return nil, awswire.ClientError("ValidationError", "Instance Id not found - No managed instance found for instance ID: %s", id)
	}
	return in, nil
}

// terminateInstance takes one instance out on request, optionally shrinking
// the group; if it does not, reconcile launches the replacement. A warm-pool
// instance does not count toward the desired capacity, so it never shrinks
// the group, and the pool launches its replacement: "you can terminate
// existing instances in the warm pool. Amazon EC2 Auto Scaling immediately
// starts launching new instances to replace the instances that you
// terminated" (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html).
//
// It returns the termination's activity and whether this request started it.
func (s *Server) terminateInstance(in *instance, decrement bool, at time.Time) (*activity, bool, *awswire.Error) {
	g := in.group
	if a := in.activity; in.leaving() && a != nil && !a.launch {
		// AWS answers a repeated request for an instance already leaving with
		// the same activity; taking it out twice would double-decrement.
		return a, false, nil
	}
	why := sentence(at, "instance %s was taken out of service in response to a user request", in.id)
	if decrement && in.inCapacity() {
		if g.desired <= g.min {
			return nil, false, awswire.ClientError("ValidationError",
				"Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.min)
		}
		g.desired--
		why = strings.TrimSuffix(why, ".") + fmt.Sprintf(", shrinking the capacity from %d to %d.", g.desired+1, g.desired)
	}
	if in.leaving() {
		// A launch its hook abandoned, on its way out without an activity
		// of its own.
		s.record(in, false, terminationDescription(in), why, at)
		return in.activity, true, nil
	}
	s.terminate(in, why, at)
	return in.activity, true, nil
}

// retire moves an instance to Terminated (Warmed:Terminated out of the warm
// pool), ending its termination's activity, removes it from its group and
// tells the harness, which deregisters the ECS container instance as EC2
// would.
func (s *Server) retire(in *instance, at time.Time) {
	succeed(in, at)
	if in.warm() {
		in.state = StateWarmedTerminated
	} else {
		in.state = StateTerminated
	}
	g := in.group
	g.instances = slices.DeleteFunc(g.instances, func(i *instance) bool { return i == in })
	if s.onTerminate != nil {
		name, id := g.name, in.id
		s.later(func() { s.onTerminate(name, id) })
	}
}

// fire applies every timed transition due at or before t.
func (s *Server) fire(t time.Time) {
	due := func(at time.Time) bool { return !at.After(t) }
	for _, in := range s.launched {
		switch {
		case in.state == StatePending && due(in.readyAt):
			s.booted(in, t)
		case in.state == StatePendingProceed && due(in.readyAt):
			in.state, in.inServiceAt = StateInService, t
			succeed(in, t)
		case in.state == StateWarmedPending && due(in.readyAt) && !in.stopping:
			s.bootedIntoPool(in, t)
		case (in.state == StateWarmedPending || in.state == StateWarmedPendingProceed) && due(in.readyAt):
			s.rest(in, t)
		case (in.state == StateTerminating || in.state == StateTerminatingProceed ||
			in.state == StateWarmedTerminating || in.state == StateWarmedTerminatingProceed) && due(in.goneAt):
			s.retire(in, t)
		case in.waiting():
			for _, a := range slices.Clone(in.actions) {
				if a.active() && due(a.deadline) {
					s.timeOut(a, t)
				}
			}
		}
	}
}

// nextDue returns the earliest pending timed transition.
func (s *Server) nextDue() (time.Time, bool) {
	var next time.Time
	found := false
	consider := func(t time.Time) {
		if !found || t.Before(next) {
			next, found = t, true
		}
	}
	for _, in := range s.launched {
		switch {
		case in.state == StatePending || in.state == StatePendingProceed ||
			in.state == StateWarmedPending || in.state == StateWarmedPendingProceed:
			consider(in.readyAt)
		case in.state == StateTerminating || in.state == StateTerminatingProceed ||
			in.state == StateWarmedTerminating || in.state == StateWarmedTerminatingProceed:
			consider(in.goneAt)
		case in.waiting():
			for _, a := range in.actions {
				if a.active() {
					consider(a.deadline)
				}
			}
		}
	}
	for _, name := range sortedKeys(s.groups) {
		if t, ok := s.refreshDue(s.groups[name]); ok {
			consider(t)
		}
	}
	return next, found
}

// advance applies, in time order, every transition due by now. Each timed
// transition runs at its own due time, so the launch time of a replacement
// or the end of a timed-out action reads when it happened, not when the
// emulator was next asked.
func (s *Server) advance(now time.Time) {
	for {
		t, ok := s.nextDue()
		if !ok || t.After(now) {
			return
		}
		s.fire(t)
		s.reconcile(t)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
