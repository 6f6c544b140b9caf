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

// defaultMinHealthy is the documented default of
// RefreshPreferences.MinHealthyPercentage.
const defaultMinHealthy = 90

// refresh replaces every instance the group had when it started, in batches.
// Simplified from AWS: there is no launch template to compare, so nothing is
// skipped as matching; each batch launches its replacements first and
// terminates the old instances (through the terminate hooks) once the
// replacements are InService, which is AWS's launch-before-terminate mode
// (MaxHealthyPercentage above 100) and keeps capacity from dipping. The batch
// is the (100 − MinHealthyPercentage)% of the desired capacity, at least one
// instance; the next batch starts when the previous one is Terminated. Then
// the warm pool's instances are replaced: "An instance refresh first
// replaces InService instances. Then it replaces instances in the warm
// pool" (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html);
// here all at once, the pool refilling with new ones, and scale out
// meanwhile takes none of the old.
// Warm-up, checkpoints, skip-matching and rollback are not modelled.
type refresh struct {
	id             string
	status         string
	started, ended time.Time
	minHealthy     int
	old            []*instance // the instances to replace
	oldWarm        []*instance // the warm-pool instances to replace after them
	batch          []*instance // being replaced now
	retiring       bool        // the batch's replacements are up; it is terminating
}

func (r *refresh) active() bool { return r.status == refreshPending || r.status == refreshInProgress }

func (r *refresh) batchSize(desired int) int {
	return max(1, desired*(100-r.minHealthy)/100)
}

// progress returns how many of the old instances are Terminated.
func (r *refresh) progress() (done int) {
	for _, in := range r.old {
		if in.gone() {
			done++
		}
	}
	return done
}

func (s *Server) startRefresh(g *group, minHealthy int, at time.Time) (*refresh, *awswire.Error) {
	for _, r := range g.refreshes {
		if r.active() {
			return nil, awswire.ClientError("InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
		}
	}
	r := &refresh{
		id:         awswire.NewRequestID(),
		status:     refreshPending,
		started:    at,
		minHealthy: minHealthy,
		old:        s.capacity(g),
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

// stepRefresh moves the group's active refresh as far as it can at time at;
// reconcile then launches the replacements of a batch it has just picked.
func (s *Server) stepRefresh(g *group, at time.Time) {
	var r *refresh
	for _, x := range g.refreshes {
		if x.active() {
			r = x
		}
	}
	if r == nil {
		return
	}
	r.status = refreshInProgress
	if len(r.batch) > 0 && !r.retiring {
		for _, in := range s.capacity(g) {
			if in.state != StateInService {
				return
			}
		}
		for _, in := range r.batch {
			if in.live() {
				s.terminate(in, at)
			}
		}
		r.retiring = true
	}
	if r.retiring {
		for _, in := range r.batch {
			if !in.gone() {
				return
			}
		}
		r.batch, r.retiring = nil, false
	}
	var todo []*instance
	for _, in := range r.old {
		// Old instances that left the group by other means need no replacing.
		if in.inCapacity() {
			todo = append(todo, in)
		}
	}
	if len(todo) == 0 {
		if s.replaceWarm(r, at) {
			r.status, r.ended = refreshSuccessful, at
		}
		return
	}
	r.batch = todo[:min(len(todo), r.batchSize(g.desired))]
	for _, in := range r.batch {
		in.replacing = true
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
			s.terminate(in, at)
		}
	}
	return done
}
