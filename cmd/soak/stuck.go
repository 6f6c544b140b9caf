package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// Stuck drains in the soak (issue 14): drains that cannot finish, a few of
// each blocking kind, each made by the local ECS scheduler for real, in
// clusters of their own so that the other drains' tasks never meet them.
// The soak's deployment leaves DRAINER_STUCK_AFTER off (the default), so
// each must be diagnosed with its true reason before its deadline and then
// wait for that deadline (or, for a dead agent, DRAINER_DISCONNECTED_AFTER):
// no drain may end with outcome stuck.
//
//   - no_capacity: service pinned binds host port stuckPort on every
//     instance of its group, at 100 % minimum healthy; all but one instance
//     drain, so a replacement has no port anywhere and the old task is not
//     stopped first.
//   - deployment_config: service fixed, at 100 % minimum healthy and 100 %
//     maximum, one task per instance (distinctInstance) on half of its
//     group: ECS may neither start a replacement nor stop a task, though
//     the other half has room.
//   - agent_disconnected: service movable, ECS's default percents, one task
//     per instance on half of its group, whose agent dies as the drain
//     begins: ECS starts the replacement on the other half and tells the
//     old task to stop, and nothing on the host stops it. The agent is its
//     only blocker; DRAINER_DISCONNECTED_AFTER releases it.
//
// They live in clusters the deployment's ECS rules do not match, so their
// diagnosis comes from the chains' own looks, never from a Service Action
// event.
const (
	soakStuckPortGroup  = "soak-stuck-port"
	soakStuckGroup      = "soak-stuck"
	soakStuckAgentGroup = "soak-stuck-agent"
	stuckPort           = 8080
	// stuckSlack is how far before the time its policy allows a stuck
	// drain may end: the function counts from its event's time, which
	// EventBridge writes in whole seconds.
	stuckSlack = 2 * time.Second
)

// stuckResources are each stuck instance's: room for a few of their tasks.
var stuckResources = ecs.Resources{CPU: 1024, Memory: 1024}

// stuckDrain is a drain that cannot finish, and why.
type stuckDrain struct {
	id      string
	reason  string // its true reason
	service string
	// resource is the start of what a no_capacity finding must name.
	resource string
	// disconnected is when its agent was disconnected, zero if never.
	disconnected time.Time
}

// stuckAccount creates the stuck groups, their clusters and services, and
// returns the drains to start: few of each kind.
func (w world) stuckAccount(ctx context.Context, cfg SoakConfig) ([]stuckDrain, error) {
	few := max(2, cfg.Drains/100)
	var out []stuckDrain
	withTask := func(cluster string, ids []string) []string {
		var busy []string
		for _, id := range ids {
			if len(w.LiveTasks(cluster, id, time.Time{})) > 0 {
				busy = append(busy, id)
			}
		}
		return busy
	}
	ids, err := w.Group(ctx, localdeploy.GroupSpec{Name: soakStuckPortGroup, Cluster: soakStuckPortGroup, Instances: few + 1,
		Resources: stuckResources, HeartbeatTimeout: soakHeartbeat})
	if err != nil {
		return nil, err
	}
	if err := w.AWS.ECS.CreateService(soakStuckPortGroup, ecs.ServiceSpec{Name: "pinned", DesiredCount: few + 1, CPU: 256, Memory: 256,
		HostPort: stuckPort, MinimumHealthyPercent: 100, MaximumPercent: 200, StopDelay: time.Second}); err != nil {
		return nil, err
	}
	busy := withTask(soakStuckPortGroup, ids)
	if len(busy) != few+1 {
		return nil, fmt.Errorf("service pinned runs on %d of %d instances, want every one", len(busy), len(ids))
	}
	for _, id := range busy[:few] {
		out = append(out, stuckDrain{id: id, reason: contract.ReasonNoCapacity, service: "pinned", resource: fmt.Sprintf("host port %d", stuckPort)})
	}
	for _, k := range []struct {
		group, service, reason string
		minHealthy, maxPercent int // 0: ECS's defaults, 100 and 200
	}{
		{soakStuckGroup, "fixed", contract.ReasonDeploymentConfig, 100, 100},
		{soakStuckAgentGroup, "movable", contract.ReasonAgentDisconnected, 0, 0},
	} {
		ids, err = w.Group(ctx, localdeploy.GroupSpec{Name: k.group, Cluster: k.group, Instances: 2 * few,
			Resources: stuckResources, HeartbeatTimeout: soakHeartbeat})
		if err != nil {
			return nil, err
		}
		if err := w.AWS.ECS.CreateService(k.group, ecs.ServiceSpec{Name: k.service, DesiredCount: few, CPU: 256, Memory: 256,
			MinimumHealthyPercent: k.minHealthy, MaximumPercent: k.maxPercent, StopDelay: time.Second,
			PlacementConstraints: []ecs.PlacementConstraint{{Type: ecs.ConstraintDistinctInstance}}}); err != nil {
			return nil, err
		}
		busy = withTask(k.group, ids)
		if len(busy) != few {
			return nil, fmt.Errorf("service %s runs on %d of %d instances, want %d", k.service, len(busy), len(ids), few)
		}
		for _, id := range busy {
			out = append(out, stuckDrain{id: id, reason: k.reason, service: k.service})
		}
	}
	return out, nil
}

// startStuck disconnects the agents of the agent_disconnected kind, then
// scales in every stuck instance.
func (w world) startStuck(ctx context.Context, drains []stuckDrain) error {
	for i, d := range drains {
		if d.reason == contract.ReasonAgentDisconnected {
			if err := w.AWS.ECS.DisconnectAgent(d.id); err != nil {
				return err
			}
			drains[i].disconnected = time.Now()
		}
		if err := localdeploy.Retry(ctx, func() error { _, err := w.ASG.TerminateInstanceInAutoScalingGroup(ctx, terminate(d.id)); return err }); err != nil {
			return fmt.Errorf("terminating %s: %w", d.id, err)
		}
	}
	return nil
}

// diagnosisLine is a "drain diagnosis changed" line of the function: when
// it was written, and each task's reason.
type diagnosisLine struct {
	At    time.Time
	Tasks []diagnosedTask
}

// diagnosedTask is one task of a diagnosis line, in the handler's keys.
type diagnosedTask struct {
	ARN      string `json:"arn"`
	Service  string `json:"service"`
	Reason   string `json:"reason"`
	Resource string `json:"resource"`
}

// stuckRecords are what the stuck drains' invariants are checked on: the
// drainer's terminate actions by instance, as Auto Scaling kept them, and
// the function's own lines.
type stuckRecords struct {
	drains    []stuckDrain
	actions   map[string]autoscaling.ActionView
	diagnoses map[string][]diagnosisLine // by instance
	// endedStuck are the instances, of any drain, for which the function
	// logged outcome stuck.
	endedStuck                  []string
	maxDrain, disconnectedAfter time.Duration
}

// stuckCounts count the stuck drains, those diagnosed with their true
// reason before their deadline, and the drains ended early: with outcome
// stuck, or a stuck one before its policy allowed.
type stuckCounts struct{ Drains, Diagnosed, Early int }

// checkStuck checks the stuck drains' invariants: each was diagnosed with
// its true reason (every task of its service given that reason, naming the
// resource for no_capacity) by a line written before its deadline, and,
// DRAINER_STUCK_AFTER being off, none ended before its deadline (a dead
// agent's, before DRAINER_DISCONNECTED_AFTER), and no drain at all ended
// with outcome stuck.
func checkStuck(r stuckRecords) (stuckCounts, []string) {
	var c stuckCounts
	var v []string
	violate := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	early := map[string]bool{}
	for _, d := range r.drains {
		c.Drains++
		a, ok := r.actions[d.id]
		if !ok {
			violate("%s: stuck drain (%s) has no lifecycle action of the drainer's hook", d.id, d.reason)
			continue
		}
		deadline := a.Started.Add(r.maxDrain)
		if trueReason(r.diagnoses[d.id], d, deadline) {
			c.Diagnosed++
		} else {
			violate("%s: stuck drain not diagnosed %s%s for service %s before its deadline; diagnosed %s", d.id, d.reason,
				suffix(d.resource), d.service, seen(r.diagnoses[d.id], deadline))
		}
		mayEnd := deadline
		if !d.disconnected.IsZero() {
			mayEnd = minTime(mayEnd, d.disconnected.Add(r.disconnectedAfter))
		}
		switch {
		case a.Active:
			violate("%s: stuck drain (%s): action never ended", d.id, d.reason)
		case a.End != autoscaling.EndCompleted:
			violate("%s: stuck drain (%s): action ended %q", d.id, d.reason, a.End)
		case a.Ended.Before(mayEnd.Add(-stuckSlack)):
			early[d.id] = true
			violate("%s: stuck drain (%s) ended %s after it started, before %s with %s off", d.id, d.reason,
				a.Ended.Sub(a.Started).Round(time.Millisecond), mayEnd.Sub(a.Started).Round(time.Millisecond), contract.StuckAfter.Env)
		}
	}
	for _, id := range r.endedStuck {
		early[id] = true
		violate("%s: drain ended with outcome %s, with %s off", id, contract.OutcomeStuck, contract.StuckAfter.Env)
	}
	c.Early = len(early)
	return c, v
}

// trueReason reports whether a line written by deadline gave every task of
// d's service d's reason (and resource), with one task at least.
func trueReason(lines []diagnosisLine, d stuckDrain, deadline time.Time) bool {
	return slices.ContainsFunc(lines, func(l diagnosisLine) bool {
		n := 0
		for _, t := range l.Tasks {
			if t.Service != d.service {
				continue
			}
			if t.Reason != d.reason || !strings.HasPrefix(t.Resource, d.resource) {
				return false
			}
			n++
		}
		return n > 0 && !l.At.After(deadline)
	})
}

// seen renders the reasons of the lines written by deadline, for a
// violation.
func seen(lines []diagnosisLine, deadline time.Time) string {
	var out []string
	for _, l := range lines {
		if l.At.After(deadline) {
			continue
		}
		var rs []string
		for _, t := range l.Tasks {
			rs = append(rs, t.Service+"="+t.Reason+suffix(t.Resource))
		}
		out = append(out, "["+strings.Join(rs, " ")+"]")
	}
	if len(out) == 0 {
		return "nothing"
	}
	return strings.Join(out, ", ")
}

func suffix(resource string) string {
	if resource == "" {
		return ""
	}
	return " (" + resource + ")"
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
