package autoscaling

import (
	"maps"
	"time"
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

// InstanceView is an instance as the emulator knows it, Terminated ones
// included.
type InstanceView struct {
	ID                   string
	Group                string
	AvailabilityZone     string
	LifecycleState       string
	HealthStatus         string
	ProtectedFromScaleIn bool
	LaunchTime           time.Time
}

// Instance returns an instance by ID, including one already Terminated and
// gone from its group.
func (s *Server) Instance(id string) (InstanceView, bool) {
	var (
		v  InstanceView
		ok bool
	)
	s.locked(func(time.Time) {
		in, found := s.instances[id]
		if !found {
			return
		}
		v, ok = InstanceView{
			ID:                   in.id,
			Group:                in.group.name,
			AvailabilityZone:     in.az,
			LifecycleState:       in.state,
			HealthStatus:         healthy,
			ProtectedFromScaleIn: in.protected,
			LaunchTime:           in.launched,
		}, true
	})
	return v, ok
}

// ActionView is a lifecycle action and, once it is no longer active, how it
// ended.
type ActionView struct {
	Group          string
	Hook           string
	InstanceID     string
	Token          string
	Started        time.Time
	Deadline       time.Time // when the heartbeat timeout lapses
	GlobalDeadline time.Time // the cap heartbeats cannot extend past
	Heartbeats     int
	Active         bool
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

// Calls returns how many requests each operation received, throttled and
// failed ones included.
func (s *Server) Calls() map[string]int {
	var out map[string]int
	s.locked(func(time.Time) { out = maps.Clone(s.calls) })
	return out
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
