package autoscaling

import (
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Instance refresh statuses reachable here (no cancel, rollback or failure).
const (
	refreshPending    = "Pending"
	refreshInProgress = "InProgress"
	refreshSuccessful = "Successful"
)

// The documented defaults of RefreshPreferences without an instance
// maintenance policy: "If no instance maintenance policy, this defaults to
// 90 percent" for the minimum and "to 100 percent (null)" for the maximum
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/understand-instance-refresh-default-values.html).
const (
	defaultMinHealthy = 90
	defaultMaxHealthy = 100
)

// The ranges of the healthy percentages: MinHealthyPercentage 0 to 100,
// MaxHealthyPercentage 100 to 200, "and the difference between them cannot
// be greater than 100"
// (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_InstanceMaintenancePolicy.html).
const (
	maxMaxHealthy      = 200
	maxHealthyDistance = 100
)

// maintenancePolicy is a group's instance maintenance policy, the refresh's
// defaults when set.
type maintenancePolicy struct{ minHealthy, maxHealthy int }

// refresh replaces every instance the group had when it started, in batches
// sized by the healthy percentages, as
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-overview.html
// describes: "Replace instances in batches based on the minimum and maximum
// healthy percentages", launching first when the maximum allows it.
//
// A batch takes as many old instances as the range between the two
// percentages of the desired capacity allows (at least one: "Setting the
// minimum healthy percentage to 100 percent limits the rate of replacement to
// one instance at a time", in the pre-2023 copy of the same page). Of the
// batch, as many as the room above the desired capacity
// (MaxHealthyPercentage) allows stay in service until their replacements are
// healthy (launch before terminate); the others are terminated at once and
// their replacements launched at the same time, "New instances are
// provisioned at the same time your existing instances are terminated"
// (terminate and launch, the default with MaxHealthyPercentage 100:
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-maintenance-policy-overview-and-considerations.html).
// Old instances leave through the terminate hooks; a replacement is healthy
// once it is InService, after its launch hooks, and its warm-up has passed:
// "the warm-up period does not start until the lifecycle hook actions are
// complete and the instance enters the InService state"
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh.html).
// The next batch starts when every instance counting toward the desired
// capacity is healthy. UNVERIFIED: that it does not also wait for the old
// batch to reach Terminated; not waiting is the harsher reading for a
// terminate hook, whose drains then overlap.
//
// Then the warm pool's instances are replaced: "An instance refresh first
// replaces InService instances. Then it replaces instances in the warm
// pool" (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html);
// here all at once, the pool refilling with new ones, and scale out
// meanwhile takes none of the old.
//
// Not modelled: launch templates (nothing is skipped as matching),
// checkpoints, rollback, alarms, ScaleInProtectedInstances and
// StandbyInstances (protected instances are replaced like any other).
type refresh struct {
	id             string
	status         string
	started, ended time.Time
	minHealthy     int
	maxHealthy     int
	maxGiven       bool          // MaxHealthyPercentage came from the request or a policy
	warmup         time.Duration // the instance warmup
	warmupGiven    bool          // InstanceWarmup was in the request
	old            []*instance   // the instances to replace
	oldWarm        []*instance   // the warm-pool instances to replace after them
	batch          bool          // a batch is being replaced
	late           []*instance   // old instances of the batch that wait for their replacements
	checked        time.Time     // when the refresh last looked at its group
}

func (r *refresh) active() bool { return r.status == refreshPending || r.status == refreshInProgress }

// batchPlan splits the next batch for a group of desired instances: how many
// old instances to take, and how many of them stay until their replacements
// are healthy. MinHealthyPercentage rounds up, as documented ("rounded up to
// the nearest integer"); UNVERIFIED: MaxHealthyPercentage rounds up too, so
// that a maximum above 100 always leaves room to launch one first.
func (r *refresh) batchPlan(desired int) (size, late int) {
	floor := ceilDiv(desired*r.minHealthy, 100)
	ceiling := ceilDiv(desired*r.maxHealthy, 100)
	size = max(1, ceiling-floor)
	return size, min(size, ceiling-desired)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// progress returns how many of the old instances are Terminated.
func (r *refresh) progress() (done int) {
	for _, in := range r.old {
		if in.gone() {
			done++
		}
	}
	return done
}

// refreshPrefs are a StartInstanceRefresh's preferences; nil is not given.
type refreshPrefs struct {
	minHealthy, maxHealthy *int
	warmup                 *int // seconds
}

func (s *Server) startRefresh(g *group, p refreshPrefs, at time.Time) (*refresh, *awswire.Error) {
	for _, r := range g.refreshes {
		if r.active() {
			return nil, awswire.ClientError("InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
		}
	}
	r := &refresh{
		id:         awswire.NewRequestID(),
		status:     refreshPending,
		started:    at,
		minHealthy: defaultMinHealthy,
		maxHealthy: defaultMaxHealthy,
		old:        s.capacity(g),
	}
	if m := g.maintenance; m != nil {
		r.minHealthy, r.maxHealthy, r.maxGiven = m.minHealthy, m.maxHealthy, true
	}
	if p.minHealthy != nil {
		r.minHealthy = *p.minHealthy
	}
	if p.maxHealthy != nil {
		r.maxHealthy, r.maxGiven = *p.maxHealthy, true
	}
	if r.maxHealthy-r.minHealthy > maxHealthyDistance {
		// [unverified] The text; the rule is API_InstanceMaintenancePolicy's.
		return nil, awswire.ClientError("ValidationError", "The difference between MaxHealthyPercentage (%d) and MinHealthyPercentage (%d) cannot be greater than %d.", r.maxHealthy, r.minHealthy, maxHealthyDistance)
	}
	// "If you do not specify this property, the instance warmup by default
	// is the value of the DefaultInstanceWarmup property, if defined ..., or
	// the HealthCheckGracePeriod property otherwise"
	// (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html);
	// the grace period of a group made through the API defaults to 0, and
	// the emulator has no other.
	switch {
	case p.warmup != nil:
		r.warmup, r.warmupGiven = seconds(int32(*p.warmup)), true // #nosec G115 -- range-checked by the caller
	case g.defaultWarmup != nil:
		r.warmup = *g.defaultWarmup
	}
	for _, in := range g.instances {
		if in.inPool() {
			in.stale = true
			r.oldWarm = append(r.oldWarm, in)
		}
	}
	g.refreshes = append(g.refreshes, r)
	return r, nil
}

func activeRefresh(g *group) *refresh {
	for _, r := range g.refreshes {
		if r.active() {
			return r
		}
	}
	return nil
}

// healthy reports whether the group has its desired capacity and every
// instance counting toward it is InService and past its warm-up at at; if
// not, wake is
// when the first warm-up still running ends (zero if none: the refresh waits
// on a launch or a hook instead).
func (s *Server) healthy(g *group, r *refresh, at time.Time) (ok bool, wake time.Time) {
	members := s.capacity(g)
	// Fewer than desired: a replacement was abandoned and its own
	// replacement is about to launch.
	ok = len(members) >= g.desired
	for _, in := range members {
		if in.state != StateInService {
			ok = false
			continue
		}
		if end := in.inServiceAt.Add(r.warmup); end.After(at) {
			ok = false
			if wake.IsZero() || end.Before(wake) {
				wake = end
			}
		}
	}
	return ok, wake
}

// refreshDue is when the group's refresh next needs to look, when only a
// warm-up ending will move it.
func (s *Server) refreshDue(g *group) (time.Time, bool) {
	r := activeRefresh(g)
	if r == nil || !r.batch {
		return time.Time{}, false
	}
	_, wake := s.healthy(g, r, r.checked)
	return wake, !wake.IsZero()
}

// stepRefresh moves the group's active refresh as far as it can at time at;
// reconcile then launches the replacements of a batch it has just picked.
func (s *Server) stepRefresh(g *group, at time.Time) {
	r := activeRefresh(g)
	if r == nil {
		return
	}
	r.status, r.checked = refreshInProgress, at
	if r.batch {
		if ok, _ := s.healthy(g, r, at); !ok {
			return
		}
		for _, in := range r.late {
			if in.live() {
				s.terminate(in, refreshCause(in, at), at)
			}
		}
		r.batch, r.late = false, nil
	}
	var todo []*instance
	for _, in := range r.old {
		// Old instances that left the group by other means need no replacing.
		if in.inCapacity() {
			todo = append(todo, in)
		}
	}
	if len(todo) == 0 {
		// The group's old instances are replaced once Terminated; only
		// then does the warm pool's turn come, and the refresh succeed.
		for _, in := range r.old {
			if !in.gone() {
				return
			}
		}
		if s.replaceWarm(r, at) {
			r.status, r.ended = refreshSuccessful, at
		}
		return
	}
	size, late := r.batchPlan(g.desired)
	batch := todo[:min(len(todo), size)]
	late = min(late, len(batch))
	r.batch, r.late = true, batch[:late]
	for _, in := range batch[:late] {
		in.replacing = true
	}
	for _, in := range batch[late:] {
		s.terminate(in, refreshCause(in, at), at)
	}
}

// replaceWarm terminates the warm-pool instances the refresh found, once
// lifecycle actions no longer hold them, and reports whether all are gone.
func (s *Server) replaceWarm(r *refresh, at time.Time) bool {
	done := true
	for _, in := range r.oldWarm {
		if in.gone() {
			continue
		}
		done = false
		if in.inPool() && !in.waiting() {
			s.terminate(in, refreshCause(in, at), at)
		}
	}
	return done
}
