package autoscaling

import (
	"fmt"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// The control plane: plain methods through which tests and the demo seed the
// emulator and read what happened. Each first applies the transitions due at
// the clock's current time, like a request does. Errors are *awswire.Error
// values with the code and message the API would answer.

// Settle applies the transitions due at the clock's current time. Call it
// after advancing a Fake clock to let timeouts fire without a request.
func (s *Server) Settle() {
	s.locked(func(time.Time) {})
}

// CreateGroup creates a group and launches its desired capacity. It returns
// the group's ARN and the IDs of the instances launched.
func (s *Server) CreateGroup(name string, min, max, desired int) (arn string, instanceIDs []string, err error) {
	s.locked(func(now time.Time) {
		g, aerr := s.createGroup(name, min, max, desired, now)
		if aerr != nil {
			err = aerr
			return
		}
		// Launch here rather than leave it to the reconcile after fn, so
		// the IDs can be returned.
		s.reconcile(now)
		arn = g.arn
		for _, in := range g.instances {
			instanceIDs = append(instanceIDs, in.id)
		}
	})
	return arn, instanceIDs, err
}

// PutLifecycleHook creates or replaces a hook, with the validations of the
// PutLifecycleHook operation.
func (s *Server) PutLifecycleHook(h Hook) error {
	var err error
	s.locked(func(time.Time) {
		if aerr := s.putHook(h); aerr != nil {
			err = aerr
		}
	})
	return err
}

// SetInstanceMaintenancePolicy gives the group an instance maintenance
// policy, as UpdateAutoScalingGroup's InstanceMaintenancePolicy does: an
// instance refresh that does not say otherwise takes its percentages
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/understand-instance-refresh-default-values.html).
// The ranges are the API's: minimum 0 to 100, maximum 100 to 200, at most
// 100 apart; -1 for both removes the policy.
func (s *Server) SetInstanceMaintenancePolicy(group string, minHealthy, maxHealthy int32) error {
	var err error
	s.locked(func(time.Time) {
		g, aerr := s.group(group)
		if aerr != nil {
			err = aerr
			return
		}
		if minHealthy == -1 && maxHealthy == -1 {
			g.maintenance = nil
			return
		}
		var c checks
		if minHealthy < 0 || minHealthy > 100 {
			c.fail("InstanceMaintenancePolicy.MinHealthyPercentage", fmt.Sprint(minHealthy), "have value between 0 and 100")
		}
		if maxHealthy < defaultMaxHealthy || maxHealthy > maxMaxHealthy {
			c.fail("InstanceMaintenancePolicy.MaxHealthyPercentage", fmt.Sprint(maxHealthy), "have value between 100 and 200")
		}
		if aerr := c.err(); aerr != nil {
			err = aerr
			return
		}
		if maxHealthy-minHealthy > maxHealthyDistance {
			// [unverified] The text; the rule is API_InstanceMaintenancePolicy's.
			err = awswire.ClientError("ValidationError", "The difference between MaxHealthyPercentage (%d) and MinHealthyPercentage (%d) cannot be greater than %d.", maxHealthy, minHealthy, maxHealthyDistance)
			return
		}
		g.maintenance = &maintenancePolicy{minHealthy: int(minHealthy), maxHealthy: int(maxHealthy)}
	})
	return err
}

// SetDefaultInstanceWarmup sets the group's DefaultInstanceWarmup (0 to
// 3600 s, as CreateAutoScalingGroup takes it), the warm-up an instance
// refresh waits after each replacement is InService unless its
// InstanceWarmup says otherwise; a negative value removes it. Without it the
// warm-up is the health check grace period, 0 for a group made through the
// API.
func (s *Server) SetDefaultInstanceWarmup(group string, warmup time.Duration) error {
	var err error
	s.locked(func(time.Time) {
		g, aerr := s.group(group)
		switch {
		case aerr != nil:
			err = aerr
		case warmup < 0:
			g.defaultWarmup = nil
		case warmup > time.Hour:
			err = awswire.ClientError("ValidationError", "DefaultInstanceWarmup %d is above the maximum of 3600 seconds.", int(warmup/time.Second)) // [unverified] text
		default:
			g.defaultWarmup = &warmup
		}
	})
	return err
}

// SetProtected sets an instance's ProtectedFromScaleIn flag.
func (s *Server) SetProtected(instanceID string, protected bool) error {
	var err error
	s.locked(func(time.Time) {
		in, aerr := s.instanceInGroup(instanceID)
		if aerr != nil {
			err = aerr
			return
		}
		in.protected = protected
	})
	return err
}

// WarmPool is a warm pool configuration for PutWarmPool.
type WarmPool struct {
	// MinSize is the fewest instances the pool keeps.
	MinSize int32
	// MaxGroupPreparedCapacity caps the group and the pool together; nil
	// leaves it unset, and the group's MaxSize applies.
	MaxGroupPreparedCapacity *int32
	// PoolState is PoolStateStopped (the default when empty),
	// PoolStateRunning or PoolStateHibernated.
	PoolState string
	// ReuseOnScaleIn returns instances to the pool on scale in instead of
	// terminating them.
	ReuseOnScaleIn bool
}

// PutWarmPool creates or replaces the group's warm pool, which then fills
// as the PutWarmPool operation's does.
func (s *Server) PutWarmPool(group string, p WarmPool) error {
	var err error
	s.locked(func(time.Time) {
		var c checks
		if p.PoolState == "" {
			p.PoolState = PoolStateStopped
		}
		c.enum("PoolState", p.PoolState, poolStates)
		if p.MinSize < 0 {
			c.fail("MinSize", fmt.Sprint(p.MinSize), "have value greater than or equal to 0")
		}
		maxPrepared := -1
		if p.MaxGroupPreparedCapacity != nil {
			maxPrepared = int(*p.MaxGroupPreparedCapacity)
		}
		if maxPrepared < -1 {
			c.fail("MaxGroupPreparedCapacity", fmt.Sprint(maxPrepared), "have value greater than or equal to -1")
		}
		if aerr := c.err(); aerr != nil {
			err = aerr
			return
		}
		g, aerr := s.poolGroup(group)
		if aerr != nil {
			err = aerr
			return
		}
		minSize := int(p.MinSize)
		s.putPool(g, poolUpdate{minSize: &minSize, maxPrepared: &maxPrepared, state: p.PoolState})
		// A replaced pool shows a reuse policy only when it reuses.
		g.pool.reuse = nil
		if p.ReuseOnScaleIn {
			g.pool.reuse = &p.ReuseOnScaleIn
		}
	})
	return err
}

// DeleteWarmPool deletes the group's warm pool as the DeleteWarmPool
// operation does: without force the pool is PendingDelete until its
// instances have passed their terminate hooks; with force it is gone at
// once and its lifecycle actions end as EndDeleted.
func (s *Server) DeleteWarmPool(group string, force bool) error {
	var err error
	s.locked(func(now time.Time) {
		g, aerr := s.poolGroup(group)
		if aerr == nil {
			aerr = s.deletePool(g, force, now)
		}
		if aerr != nil {
			err = aerr
		}
	})
	return err
}

// WarmInstances returns the instances of the group's warm pool that are not
// Terminated, those terminating out of it included, in launch order.
func (s *Server) WarmInstances(group string) []InstanceView {
	var out []InstanceView
	s.locked(func(time.Time) {
		if g, ok := s.groups[group]; ok {
			for _, in := range poolInstances(g) {
				out = append(out, in.view())
			}
		}
	})
	return out
}

// InstanceView is an instance as the emulator knows it, Terminated ones
// included.
type InstanceView struct {
	ID               string
	Group            string
	AvailabilityZone string
	LifecycleState   string
	// HealthStatus as the Instance shape of DescribeAutoScalingGroups
	// writes it.
	HealthStatus         string
	ProtectedFromScaleIn bool
	LaunchTime           time.Time
	// WarmPool is true in a Warmed: state: on the way into the warm pool,
	// resting there, or terminating out of it.
	WarmPool bool
}

func (in *instance) view() InstanceView {
	return InstanceView{
		ID:                   in.id,
		Group:                in.group.name,
		AvailabilityZone:     in.az,
		LifecycleState:       in.state,
		HealthStatus:         healthyInstance,
		ProtectedFromScaleIn: in.protected,
		LaunchTime:           in.launched,
		WarmPool:             in.warm(),
	}
}

// Instance returns an instance by ID, including one already Terminated and
// gone from its group.
func (s *Server) Instance(id string) (InstanceView, bool) {
	var (
		v  InstanceView
		ok bool
	)
	s.locked(func(time.Time) {
		if in, found := s.instances[id]; found {
			v, ok = in.view(), true
		}
	})
	return v, ok
}

// ActionView is a lifecycle action and, once it is no longer active, how it
// ended.
type ActionView struct {
	Group      string
	Hook       string
	InstanceID string
	Token      string
	// Transition is the hook's, TransitionLaunching or
	// TransitionTerminating; Origin and Destination are the event's
	// (OriginEC2, OriginAutoScalingGroup, OriginWarmPool).
	Transition          string
	Origin, Destination string
	Started             time.Time
	Deadline            time.Time // when the heartbeat timeout lapses
	GlobalDeadline      time.Time // the cap heartbeats cannot extend past
	Heartbeats          int
	Active              bool
	// Result is CONTINUE or ABANDON once the action ended by completion or
	// timeout; it is empty while active and for a skipped action.
	Result string
	End    End
	Ended  time.Time
}

func (a *action) view() ActionView {
	return ActionView{
		Group:          a.inst.group.name,
		Hook:           a.hook.Name,
		InstanceID:     a.inst.id,
		Token:          a.token,
		Transition:     a.hook.Transition,
		Origin:         a.origin,
		Destination:    a.dest,
		Started:        a.started,
		Deadline:       a.deadline,
		GlobalDeadline: a.globalDeadline,
		Heartbeats:     a.heartbeats,
		Active:         a.active(),
		Result:         a.result,
		End:            a.end,
		Ended:          a.ended,
	}
}

// Actions returns every lifecycle action started so far, oldest first.
func (s *Server) Actions() []ActionView {
	var out []ActionView
	s.locked(func(time.Time) {
		for _, a := range s.actions {
			out = append(out, a.view())
		}
	})
	return out
}

// Action returns the latest action of an instance for a hook.
func (s *Server) Action(instanceID, hook string) (ActionView, bool) {
	var (
		v  ActionView
		ok bool
	)
	s.locked(func(time.Time) {
		for _, a := range s.actions {
			if a.inst.id == instanceID && a.hook.Name == hook {
				v, ok = a.view(), true
			}
		}
	})
	return v, ok
}

// ExpireAction makes the instance's pending action for hook lapse now, as if
// its heartbeat timeout had run out: Auto Scaling applies the hook's default
// result. Fault injection uses it for a drain whose heartbeats did not
// arrive in time. It reports whether an action was pending.
func (s *Server) ExpireAction(instanceID, hook string) bool {
	expired := false
	s.locked(func(now time.Time) {
		for _, a := range s.actions {
			if a.inst.id == instanceID && a.hook.Name == hook && a.active() {
				a.deadline, expired = now, true
			}
		}
	})
	return expired
}
