package autoscaling

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Instance lifecycle states, as the LifecycleState enum of the API model
// spells them. Only the states of a group without warm pool, standby or
// launch hooks are reachable here.
const (
	StatePending            = "Pending"
	StateInService          = "InService"
	StateTerminating        = "Terminating"
	StateTerminatingWait    = "Terminating:Wait"
	StateTerminatingProceed = "Terminating:Proceed"
	StateTerminated         = "Terminated"
)

// healthy is the only HealthStatus the emulator reports: it has no health
// checks, so no instance is ever replaced for being unhealthy.
const healthy = "Healthy"

// azSuffixes are the Availability Zones of every group, <region>a..c.
var azSuffixes = []string{"a", "b", "c"}

type group struct {
	name, arn         string
	min, max, desired int
	created           time.Time
	azs               []string
	instances         []*instance // members in launch order; Terminated ones are removed
	hooks             []*Hook     // in creation order, the order DescribeLifecycleHooks lists them
	refreshes         []*refresh  // oldest first
}

type instance struct {
	id, az    string
	group     *group
	state     string
	protected bool
	launched  time.Time
	seq       int       // launch order, which breaks ties between equal launch times
	readyAt   time.Time // Pending → InService
	goneAt    time.Time // Terminating or Terminating:Proceed → Terminated
	// replacing marks an instance an instance refresh has picked: it no
	// longer counts toward the desired capacity, so the group launches its
	// replacement before the refresh terminates it.
	replacing bool
	actions   []*action
}

// inCapacity reports whether the instance counts toward the group's desired
// capacity: instances on their way out do not, which is what makes the group
// launch a replacement for one terminated without decrementing.
func (in *instance) inCapacity() bool {
	return (in.state == StatePending || in.state == StateInService) && !in.replacing
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
	}
	for _, z := range azSuffixes {
		g.azs = append(g.azs, s.region+z)
	}
	s.groups[name] = g
	return g, nil
}

func (s *Server) setDesired(g *group, desired int) *awswire.Error {
	if desired > g.max {
		return awswire.ClientError("ValidationError", "New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", desired, g.max)
	}
	if desired < g.min {
		return awswire.ClientError("ValidationError", "New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", desired, g.min)
	}
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
// lets an instance refresh pick or retire instances, then launches or
// terminates the difference.
func (s *Server) reconcile(at time.Time) {
	for _, name := range sortedKeys(s.groups) {
		g := s.groups[name]
		s.stepRefresh(g, at)
		live := s.capacity(g)
		for n := len(live); n < g.desired; n++ {
			live = append(live, s.launch(g, live, at))
		}
		for _, victim := range scaleInVictims(live, len(live)-g.desired) {
			s.beginTermination(victim, at)
		}
	}
}

// launch starts one instance in the Availability Zone with the fewest live
// instances, as AWS balances launches across zones.
func (s *Server) launch(g *group, live []*instance, at time.Time) *instance {
	count := map[string]int{}
	for _, i := range live {
		count[i.az]++
	}
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
		readyAt:  at.Add(s.bootTime),
	}
	g.instances = append(g.instances, in)
	s.instances[in.id] = in
	s.launched = append(s.launched, in)
	return in
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
		count := map[string]int{}
		for _, i := range remaining {
			count[i.az]++
		}
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

// instanceInGroup returns a live member of a group, the only instances the
// group-scoped operations accept.
func (s *Server) instanceInGroup(id string) (*instance, *awswire.Error) {
	in, ok := s.instances[id]
	if !ok || in.state == StateTerminated {
		return nil, awswire.ClientError("ValidationError", "Instance Id not found - No managed instance found for instance ID: %s", id)
	}
	return in, nil
}

// terminateInstance takes one instance out of service on request, optionally
// shrinking the group; if it does not, reconcile launches the replacement.
func (s *Server) terminateInstance(in *instance, decrement bool, at time.Time) (before, after int, err *awswire.Error) {
	g := in.group
	before, after = g.desired, g.desired
	if in.state != StatePending && in.state != StateInService {
		// AWS answers a repeated request for an instance already leaving with
		// the same activity; taking it out twice would double-decrement.
		return before, after, nil
	}
	if decrement && in.inCapacity() {
		if g.desired <= g.min {
			return before, after, awswire.ClientError("ValidationError",
				"Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.min)
		}
		g.desired--
		after = g.desired
	}
	s.beginTermination(in, at)
	return before, after, nil
}

// retire moves an instance to Terminated, removes it from its group and tells
// the harness, which deregisters the ECS container instance as EC2 would.
func (s *Server) retire(in *instance) {
	in.state = StateTerminated
	g := in.group
	g.instances = slices.DeleteFunc(g.instances, func(i *instance) bool { return i == in })
	if s.onTerminate != nil {
		name, id := g.name, in.id
		s.later(func() { s.onTerminate(name, id) })
	}
}

// fire applies every timed transition due at or before t.
func (s *Server) fire(t time.Time) {
	for _, in := range s.launched {
		switch {
		case in.state == StatePending && !in.readyAt.After(t):
			in.state = StateInService
			if s.onLaunch != nil {
				name, id := in.group.name, in.id
				s.later(func() { s.onLaunch(name, id) })
			}
		case (in.state == StateTerminating || in.state == StateTerminatingProceed) && !in.goneAt.After(t):
			s.retire(in)
		case in.state == StateTerminatingWait:
			for _, a := range in.actions {
				if a.active() && !a.deadline.After(t) {
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
		switch in.state {
		case StatePending:
			consider(in.readyAt)
		case StateTerminating, StateTerminatingProceed:
			consider(in.goneAt)
		case StateTerminatingWait:
			for _, a := range in.actions {
				if a.active() {
					consider(a.deadline)
				}
			}
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
