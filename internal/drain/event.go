package drain

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// Event-driven completion. An ECS task or container instance state change
// names a container instance; if that instance is DRAINING under a drain's
// chain mark, its action still pending and no task left, the action is
// completed at once instead of at the chain's next poll. The chain then ends
// at its next hop (the action is gone). Nothing is carried: the mark on the
// instance holds the drain's start, token and hook, so there is no database,
// and a lost or duplicated event costs at most a poll interval or a few
// reads. Most events are about instances that are not draining and stop
// after one DescribeContainerInstances.

// Event outcomes, beside the drain's own.
const (
	OutcomeNotDraining Outcome = "not_draining" // not DRAINING under a chain mark: not ours to complete
	OutcomeTasksLeft   Outcome = "tasks_left"   // draining, tasks left: the chain goes on
	OutcomeNotOurs     Outcome = "not_ours"     // the instance's group or the mark's hook is outside DRAINER_ASGS or DRAINER_HOOKS
)

// EventObservation is what handling one ECS event has learned so far.
type EventObservation struct {
	// TasksShown: the event itself shows tasks left (a count of tasks
	// whose desired status is RUNNING, or CPU or memory still reserved) as
	// of the event; a later change sends a later event.
	TasksShown   bool
	Instance     *Instance // nil until described
	Chain        *Chain
	Action       ActionStatus
	NotOurs      bool
	Tasks        []Task
	TasksCounted bool
	HookMissing  bool
}

// NextOnEvent returns the step to take for an ECS event about the instance
// of drain s (what is known of it: cluster, and once described the mark's
// start, token and hook) given what has been observed. It is pure. It never
// completes an action with a task left: the same count as a hop's decides.
func NextOnEvent(s State, o EventObservation) Step {
	switch {
	case o.TasksShown:
		return Step{Kind: End, Outcome: OutcomeTasksLeft}
	case o.Instance == nil:
		return Step{Kind: FindInstance}
	case !o.Instance.Found || o.Instance.Status != StatusDraining || o.Chain == nil:
		return Step{Kind: End, Outcome: OutcomeNotDraining}
	case o.Instance.Busy:
		return Step{Kind: End, Outcome: OutcomeTasksLeft}
	case o.Action == ActionUnknown:
		return Step{Kind: CheckAction}
	case o.Action == ActionGone:
		return Step{Kind: End, Outcome: OutcomeActionGone}
	case o.NotOurs:
		return Step{Kind: End, Outcome: OutcomeNotOurs}
	case !o.TasksCounted:
		return Step{Kind: CountTasks}
	case len(o.Tasks) > 0:
		return Step{Kind: End, Outcome: OutcomeTasksLeft}
	case o.HookMissing:
		return Step{Kind: End, Outcome: OutcomeHookMissing}
	case s.HookName == "":
		return Step{Kind: DescribeHook}
	}
	return Step{Kind: Complete, Outcome: OutcomeDrained, Result: ResultContinue}
}

// Settle handles an ECS event: it completes the lifecycle action of the
// drain of the event's container instance if that drain is over. scope is
// what the drainer drains.
func (p *Round) Settle(ctx context.Context, e lifecycle.ECSEvent, scope Scope) (Result, error) {
	if e.Ready() {
		return p.settleLaunch(ctx, e, scope)
	}
	d := p.d
	s := State{Cluster: e.Cluster(), InstanceID: e.EC2InstanceID}
	o := EventObservation{TasksShown: e.ShowsTasks()}
	if in, chain, ok := p.described(e.ContainerInstanceARN); ok && !o.TasksShown {
		o.Instance, o.Chain = in, chain
		settleFrom(&s, in, chain)
		if w, ok := p.eventActions[s.InstanceID]; ok {
			checked(&s, &o, w, scope)
		}
	}
	for {
		step := NextOnEvent(s, o)
		res := Result{Outcome: step.Outcome, State: s, Tasks: o.Tasks}
		var err error
		switch step.Kind {
		case FindInstance:
			o.Instance, o.Chain, err = d.describeInstance(ctx, e.ClusterARN, e.ContainerInstanceARN)
			if err == nil {
				settleFrom(&s, o.Instance, o.Chain)
			}
		case CheckAction:
			var found map[string]asgView
			if found, err = d.describeWaiting(ctx, []string{s.InstanceID}); err == nil {
				checked(&s, &o, found[s.InstanceID], scope)
			}
		case CountTasks:
			o.Tasks, err = d.tasksLeft(ctx, s, o.Instance)
			o.TasksCounted = err == nil
		case DescribeHook:
			s.HookName, err = d.drainerHook(ctx, s.GroupName, s.Cluster, lifecycle.TransitionTerminate, scope)
			o.HookMissing = err == nil && s.HookName == ""
		case Complete:
			return d.finish(ctx, s, step.Result, res)
		case End:
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", step.Kind, err)
		}
	}
}

// settleFrom takes what a described instance tells of its drain: which EC2
// instance, and from the chain mark the drain's start, token and hook.
func settleFrom(s *State, in *Instance, c *Chain) {
	if !in.Found {
		return
	}
	s.ContainerInstanceARN, s.InstanceID = in.ARN, in.EC2InstanceID
	if c != nil {
		s.Start, s.Token, s.HookName = c.Start, c.Token, c.Hook
	}
}

// describeInstance reads one container instance and its chain mark.
func (d *Drainer) describeInstance(ctx context.Context, cluster, arn string) (*Instance, *Chain, error) {
	out, err := d.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: &cluster, ContainerInstances: []string{arn}})
	if err != nil {
		return nil, nil, fmt.Errorf("describing container instance %s: %w", arn, err)
	}
	for _, ci := range out.ContainerInstances {
		id := aws.ToString(ci.Ec2InstanceId)
		if aws.ToString(ci.ContainerInstanceArn) != arn || !lifecycle.ValidInstanceID(id) {
			continue
		}
		in, chain := described(ci)
		return &in, chain, nil
	}
	return &Instance{}, nil, nil
}

// checked records what Auto Scaling said of the event's instance: whether
// its action is pending, and in which group (outside the scope's groups, or
// marked for a hook outside its hooks, it is not ours).
func checked(s *State, o *EventObservation, w asgView, scope Scope) {
	o.Action, s.GroupName = w.status(terminateWaitStates), w.group
	o.NotOurs = !scope.Group(s.GroupName) || s.HookName != "" && !scope.Hook(s.HookName)
}

// drainerHook finds the group's drainer hook of the transition for the
// cluster: the hook of the scope whose metadata names it. A drain needs it
// for a mark written without its hook (by an earlier build, or with a hook
// name too long to fit), the launch gate for an ECS event, which names no
// hook. "" if there is none.
func (d *Drainer) drainerHook(ctx context.Context, group, cluster, transition string, scope Scope) (string, error) {
	out, err := d.asg.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: &group})
	if err != nil {
		return "", fmt.Errorf("describing lifecycle hooks of %s: %w", group, err)
	}
	for _, h := range out.LifecycleHooks {
		name := aws.ToString(h.LifecycleHookName)
		meta, err := scope.Drains(group, name, aws.ToString(h.NotificationMetadata))
		if aws.ToString(h.LifecycleTransition) == transition && err == nil && meta.Cluster == cluster {
			return name, nil
		}
	}
	return "", nil
}
