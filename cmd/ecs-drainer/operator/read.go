package operator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/diagnose"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// Drain is one instance waiting on one of the drainer's hooks, as status,
// explain and release show it: -o json prints these.
type Drain struct {
	Group                string `json:"autoScalingGroupName"`
	Cluster              string `json:"cluster"`
	InstanceID           string `json:"instanceId"`
	ContainerInstanceARN string `json:"containerInstanceArn,omitempty"`
	Hook                 string `json:"lifecycleHookName"`
	Transition           string `json:"transition"`
	// State is "draining" (a live chain carries it), "lost" (no live
	// chain mark: the reconciler restarts it at its next sweep),
	// "launching" (the launch gate holds it) or "unknown" (its cluster
	// could not be read).
	State string `json:"state"`
	// Start is when the drain started, from its chain mark; WaitedSeconds
	// counts from it.
	Start         *time.Time `json:"start,omitempty"`
	WaitedSeconds *int       `json:"waitedSeconds,omitempty"`
	// NextPoll is when the chain's next hop is due (its mark's due time).
	NextPoll *time.Time `json:"nextPoll,omitempty"`
	// Blocked is the blocking reason the chain's last hop marked.
	Blocked string `json:"blocked,omitempty"`
	// Status is the container instance's ECS status ("" when the cluster
	// has none for the instance).
	Status    string         `json:"containerInstanceStatus,omitempty"`
	TasksLeft int            `json:"tasksLeft"`
	Reasons   map[string]int `json:"reasons,omitempty"`
	Tasks     []Task         `json:"tasks,omitempty"`
	Unblock   []string       `json:"unblock,omitempty"`
	Deadline  *time.Time     `json:"deadline,omitempty"`
	OnTimeout string         `json:"onTimeout"`
	// StuckAfterSeconds is how long every task may stay blocked before
	// the policy applies early; 0: never.
	StuckAfterSeconds       int      `json:"stuckAfterSeconds"`
	HeartbeatTimeoutSeconds int      `json:"heartbeatTimeoutSeconds"`
	OtherHooks              []string `json:"otherHooks,omitempty"`

	waiting drain.Waiting
	look    drain.Look
}

// Task is a task left, with its reason (diagnose.Finding).
type Task struct {
	ARN     string `json:"taskArn"`
	Service string `json:"service,omitempty"`
	Reason  string `json:"reason"`
	// Resource names what ECS lacks for a no_capacity reason.
	Resource string `json:"resource,omitempty"`
}

// Drain states.
const (
	StateDraining  = "draining"
	StateLost      = "lost"
	StateLaunching = "launching"
	StateUnknown   = "unknown"
)

// read inspects the scope's drains, filtered by --cluster and, when
// instance is set, to that instance, and looks at each. The drains come
// sorted by group, then the oldest first. What could be read is returned
// with the error of what could not.
func (a *app) read(ctx context.Context, groups []string, instance string) ([]Drain, error) {
	in, err := a.d.Inspect(ctx, a.scope(groups))
	errs := []error{err}
	for _, g := range groups {
		if !slices.Contains(in.Groups, g) {
			errs = append(errs, fmt.Errorf("auto scaling group %s not found", g))
		}
	}
	var ws []drain.Waiting
	for _, w := range in.Waiting {
		if (a.cluster == "" || w.Meta.Cluster == a.cluster) && (instance == "" || w.Action.InstanceID == instance) {
			ws = append(ws, w)
		}
	}
	looks, err := a.d.Look(ctx, ws)
	errs = append(errs, err)
	now := a.opts.Now()
	out := make([]Drain, len(ws))
	for i, w := range ws {
		out[i] = row(w, looks[i], now, a.policy)
	}
	slices.SortStableFunc(out, func(x, y Drain) int {
		return cmp.Or(cmp.Compare(x.Group, y.Group), cmp.Compare(x.Transition, y.Transition),
			compareStart(x.Start, y.Start), cmp.Compare(x.InstanceID, y.InstanceID), cmp.Compare(x.Hook, y.Hook))
	})
	return out, errors.Join(errs...)
}

// compareStart puts the oldest drain first, those of unknown start last.
func compareStart(x, y *time.Time) int {
	switch {
	case x == nil && y == nil:
		return 0
	case x == nil:
		return 1
	case y == nil:
		return -1
	}
	return x.Compare(*y)
}

func row(w drain.Waiting, l drain.Look, now time.Time, p drain.Policy) Drain {
	d := Drain{
		Group: w.Action.GroupName, Cluster: w.Meta.Cluster, InstanceID: w.Action.InstanceID, Hook: w.Action.HookName,
		Transition: w.Action.Transition, ContainerInstanceARN: w.ContainerInstanceARN,
		TasksLeft: len(l.Tasks), OnTimeout: l.OnTimeout, StuckAfterSeconds: int(l.StuckAfter / time.Second),
		HeartbeatTimeoutSeconds: int(w.HeartbeatTimeout / time.Second), OtherHooks: w.OtherHooks,
		waiting: w, look: l,
	}
	switch {
	case w.Action.Launch():
		d.State = StateLaunching
	case !w.Read:
		d.State = StateUnknown
	case w.Live(now, p):
		d.State = StateDraining
	default:
		d.State = StateLost
	}
	if l.Instance != nil {
		d.ContainerInstanceARN, d.Status = l.Instance.ARN, l.Instance.Status
	}
	if c := w.Chain; c != nil {
		start, due := c.Start, c.Due
		waited := int(now.Sub(start) / time.Second)
		d.Start, d.NextPoll, d.WaitedSeconds, d.Blocked = &start, &due, &waited, c.Blocked
	}
	if !l.Deadline.IsZero() {
		deadline := l.Deadline
		d.Deadline = &deadline
	}
	if len(l.Findings) > 0 {
		d.Reasons = map[string]int{}
		for _, f := range l.Findings {
			d.Reasons[f.Reason]++
			d.Tasks = append(d.Tasks, Task{ARN: f.Task, Service: f.Service, Reason: f.Reason, Resource: f.Resource})
		}
		d.Unblock = diagnose.Explain(l.Findings, l.Launching)
	}
	return d
}

// findDrain is find for the commands that act on a terminate drain: an
// instance the launch gate holds is refused, with why.
func (a *app) findDrain(ctx context.Context, instance, why string) (Drain, error) {
	d, err := a.find(ctx, instance)
	if err == nil && d.waiting.Action.Launch() {
		return d, fmt.Errorf("instance %s waits on the launch hook %s: %s", d.InstanceID, d.Hook, why)
	}
	return d, err
}

// find reads the one drain of the instance: the drainer's action on it.
// An instance that waits on another hook only is refused, naming the hook.
func (a *app) find(ctx context.Context, instance string) (Drain, error) {
	out, err := a.asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{instance}})
	if err != nil {
		return Drain{}, fmt.Errorf("describing auto scaling instance %s: %w", instance, err)
	}
	if len(out.AutoScalingInstances) == 0 {
		return Drain{}, fmt.Errorf("instance %s not found in any auto scaling group", instance)
	}
	ai := out.AutoScalingInstances[0]
	group, state := aws.ToString(ai.AutoScalingGroupName), aws.ToString(ai.LifecycleState)
	drains, err := a.read(ctx, []string{group}, instance)
	switch {
	case len(drains) > 0:
		return drains[0], err
	case err != nil:
		return Drain{}, err
	}
	hooks, err := a.asg.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: &group})
	if err != nil {
		return Drain{}, fmt.Errorf("describing lifecycle hooks of %s: %w", group, err)
	}
	var others []string
	for _, h := range hooks.LifecycleHooks {
		if name := aws.ToString(h.LifecycleHookName); !slices.Contains(a.hooks, name) && holds(aws.ToString(h.LifecycleTransition), state) {
			others = append(others, name)
		}
	}
	if len(others) > 0 {
		return Drain{}, fmt.Errorf("instance %s of group %s (%s) waits on hook %v, not on the drainer's %v: ecs-drainer acts on its own hooks' actions only", instance, group, state, others, a.hooks)
	}
	return Drain{}, fmt.Errorf("instance %s of group %s is %s: it waits on none of the drainer's hooks %v", instance, group, state, a.hooks)
}

// holds reports whether a hook of the transition can hold an instance in
// the lifecycle state (an instance in a wait state waits on every hook of
// its transition that has not completed).
func holds(transition, state string) bool {
	switch state {
	case "Terminating:Wait", "Warmed:Terminating:Wait":
		return transition == lifecycle.TransitionTerminate
	case "Pending:Wait", "Warmed:Pending:Wait":
		return transition == lifecycle.TransitionLaunch
	}
	return false
}
