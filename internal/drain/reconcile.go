package drain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// Pending is a terminate lifecycle action of one of the drainer's hooks that
// waits with no live chain draining it, found by the reconciler.
type Pending struct {
	Action lifecycle.Action
	Meta   lifecycle.HookMetadata
	// HeartbeatTimeout is the hook's, which bounds how long a chain may be
	// overdue before it counts as lost.
	HeartbeatTimeout time.Duration
}

// Sweep is what one reconciler sweep found: the drains to restart, and per
// group the gauges of its drains in flight.
type Sweep struct {
	Lost   []Pending
	Gauges []Gauge
}

// Gauge describes the drains in flight of one group: the instances waiting
// on one of the drainer's terminate hooks, how long the oldest has waited
// (from its chain mark's start; 0 when none is marked), and how many are
// stuck, by the reason their mark names.
type Gauge struct {
	Cluster, Group string
	InFlight       int
	Oldest         time.Duration
	Stuck          map[string]int
}

// Lost finds the instances of the scope's groups, in the group or its warm
// pool, that wait on one of the scope's terminate hooks and that no live
// chain drains (see Waiting.Live), from what Inspect reads. An instance
// whose action for the hook has already ended (another hook still holds it)
// is not lost. The calls grow with the number of groups and of draining
// container instances, a hundred to a call, not with the number of
// instances. A group or cluster that cannot be read is left out, and its
// error returned with the rest. A scope that names no group sweeps nothing.
func (d *Drainer) Lost(ctx context.Context, scope Scope) (Sweep, error) {
	if len(scope.ASGs) == 0 {
		return Sweep{}, nil
	}
	in, err := d.Inspect(ctx, scope)
	errs := []error{err}
	var launches []Pending
	for _, w := range in.Waiting {
		if w.Action.Launch() {
			launches = append(launches, w.Pending)
		}
	}
	lost, err := d.lostLaunches(ctx, launches, in.Now)
	errs = append(errs, err)
	gauges := map[[2]string]*Gauge{}
	var order [][2]string
	for _, w := range in.Waiting {
		if w.Action.Launch() {
			continue
		}
		key := [2]string{w.Meta.Cluster, w.Action.GroupName}
		g := gauges[key]
		if g == nil {
			g = &Gauge{Cluster: key[0], Group: key[1], Stuck: map[string]int{}}
			gauges[key] = g
			order = append(order, key)
		}
		g.InFlight++
		if !w.Read {
			continue
		}
		if c := w.Chain; c != nil {
			g.Oldest = max(g.Oldest, in.Now.Sub(c.Start))
			if c.Blocked != "" {
				g.Stuck[c.Blocked]++
			}
		}
		if w.Live(in.Now, d.policy) {
			continue
		}
		ended, err := d.ended(ctx, w.Action)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ended {
			lost = append(lost, w.Pending)
		}
	}
	sw := Sweep{Lost: lost}
	for _, k := range order {
		sw.Gauges = append(sw.Gauges, *gauges[k])
	}
	return sw, errors.Join(errs...)
}

// ended reports whether the hook's action on the instance is over, though the
// instance still waits (on another hook). Auto Scaling shows no action by
// hook, so the question is a heartbeat by instance id, which only extends a
// pending action that the restart goes on to drain anyway.
func (d *Drainer) ended(ctx context.Context, a lifecycle.Action) (bool, error) {
	err := d.heartbeat(ctx, State{GroupName: a.GroupName, HookName: a.HookName, InstanceID: a.InstanceID})
	if Classify(err) == AlreadyDone {
		return true, nil
	}
	return false, err
}

// maxGroupsPerCall is the most names DescribeAutoScalingGroups takes, with
// MaxRecords raised to match: 50 by default, 100 at most.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html
const maxGroupsPerCall = 100

// waitingIn lists group g's instances that wait on a terminate action of
// one of the scope's hooks, in the group and in its warm pool, and those
// that wait on one of its launch hooks.
func (d *Drainer) waitingIn(ctx context.Context, g astypes.AutoScalingGroup, scope Scope) ([]Waiting, error) {
	group := aws.ToString(g.AutoScalingGroupName)
	var waiting, launching []string
	for _, in := range g.Instances {
		switch {
		case terminateWaitStates[string(in.LifecycleState)] && in.LifecycleState != astypes.LifecycleStateWarmedPendingWait:
			waiting = append(waiting, aws.ToString(in.InstanceId))
		case launchWaitStates[string(in.LifecycleState)]:
			launching = append(launching, aws.ToString(in.InstanceId))
		}
	}
	var errs []error
	if w := g.WarmPoolConfiguration; w != nil {
		warm, err := d.warmWaiting(ctx, group, w.InstanceReusePolicy != nil && aws.ToBool(w.InstanceReusePolicy.ReuseOnScaleIn))
		errs = append(errs, err)
		waiting = append(waiting, warm...)
	}
	if len(waiting)+len(launching) == 0 {
		return nil, errors.Join(errs...)
	}
	out, err := d.asg.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: g.AutoScalingGroupName})
	if err != nil {
		return nil, errors.Join(append(errs, fmt.Errorf("describing lifecycle hooks of %s: %w", group, err))...)
	}
	var pending []Waiting
	views := hooksOf(out.LifecycleHooks)
	for _, h := range out.LifecycleHooks {
		name := aws.ToString(h.LifecycleHookName)
		meta, err := scope.Drains(group, name, aws.ToString(h.NotificationMetadata))
		transition := aws.ToString(h.LifecycleTransition)
		ids := map[string][]string{lifecycle.TransitionTerminate: waiting, lifecycle.TransitionLaunch: launching}[transition]
		if err != nil {
			continue
		}
		for _, id := range ids {
			p := Pending{Meta: meta, HeartbeatTimeout: time.Duration(aws.ToInt32(h.HeartbeatTimeout)) * time.Second,
				Action: lifecycle.Action{GroupName: group, HookName: name,
					InstanceID: id, Transition: transition, NotificationMetadata: aws.ToString(h.NotificationMetadata)}}
			w := Waiting{Pending: p}
			if transition == lifecycle.TransitionTerminate {
				w.OtherHooks = views[name].others
			}
			pending = append(pending, w)
		}
	}
	return pending, errors.Join(errs...)
}

// warmWaiting lists the group's warm pool instances that wait on a terminate
// action: terminated out of the pool, or (with ReuseOnScaleIn) returning to
// it, whose wait state is the one a launch into the pool waits in too.
// DescribeAutoScalingGroups lists no warm pool instance.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
func (d *Drainer) warmWaiting(ctx context.Context, group string, reuse bool) ([]string, error) {
	var waiting []string
	in := &autoscaling.DescribeWarmPoolInput{AutoScalingGroupName: &group}
	for {
		out, err := d.asg.DescribeWarmPool(ctx, in)
		if err != nil {
			return waiting, fmt.Errorf("describing the warm pool of %s: %w", group, err)
		}
		for _, i := range out.Instances {
			if s := i.LifecycleState; s == astypes.LifecycleStateWarmedTerminatingWait || reuse && s == astypes.LifecycleStateWarmedPendingWait {
				waiting = append(waiting, aws.ToString(i.InstanceId))
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return waiting, nil
		}
		in.NextToken = out.NextToken
	}
}

// markView is a DRAINING container instance's chain mark (nil: none), and
// whether it is full: at ECS's custom attribute limit without one.
type markView struct {
	arn   string
	chain *Chain
	full  bool
}

// chainMarks reads the chain marks of the cluster's DRAINING container
// instances: only a drain marks an instance, and it sets it DRAINING first.
func (d *Drainer) chainMarks(ctx context.Context, cluster string) (map[string]markView, error) {
	marks := map[string]markView{}
	p := ecs.NewListContainerInstancesPaginator(d.ecs, &ecs.ListContainerInstancesInput{Cluster: &cluster, Status: ecstypes.ContainerInstanceStatusDraining})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing draining container instances of %s: %w", cluster, err)
		}
		if len(page.ContainerInstanceArns) == 0 {
			continue
		}
		out, err := d.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: &cluster, ContainerInstances: page.ContainerInstanceArns})
		if err != nil {
			return nil, fmt.Errorf("describing draining container instances of %s: %w", cluster, err)
		}
		for _, ci := range out.ContainerInstances {
			in, chain := described(ci)
			marks[in.EC2InstanceID] = markView{arn: in.ARN, chain: chain, full: in.Full}
		}
	}
	return marks, nil
}

// chainOf reads a container instance's chain mark.
func chainOf(ci ecstypes.ContainerInstance) (Chain, bool) {
	for _, a := range ci.Attributes {
		if aws.ToString(a.Name) == ChainAttribute {
			return ParseChain(aws.ToString(a.Value))
		}
	}
	return Chain{}, false
}

// RestartGrace is how long a restart waits on the queue before its first hop
// runs: an action the sweep met before its own first hop ran (an event a
// few seconds old, a busy queue) gets that long for its chain to show, and
// the restart then finds the chain's mark and ends.
const RestartGrace = 45 * time.Second

// Restart puts a lost drain back on the queue as its lifecycle event would
// have arrived, without the token Auto Scaling does not show (the action is
// then completed by instance id): the event source runs the restarts in
// parallel, and the first hop's ownership check ends any restart that finds
// a live chain after all.
func (d *Drainer) Restart(ctx context.Context, p Pending, eventID string) error {
	detail, err := json.Marshal(p.Action)
	if err != nil {
		return fmt.Errorf("encoding restart of %s: %w", p.Action.InstanceID, err)
	}
	detailType, at := lifecycle.DetailTypeTerminate, d.now()
	if p.Action.Launch() {
		// A launch's deadline counts from when it started, which the
		// sweep read from its scaling activity.
		detailType, at = lifecycle.DetailTypeLaunch, p.Action.Time
	}
	body, err := json.Marshal(lifecycle.Envelope{
		Version: "0", ID: eventID, DetailType: detailType, Source: lifecycle.SourceAutoScaling,
		Time: at.UTC().Truncate(time.Second), Resources: []string{}, Detail: detail,
	})
	if err != nil {
		return fmt.Errorf("encoding restart of %s: %w", p.Action.InstanceID, err)
	}
	if _, err := d.sqs.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: &d.queueURL, MessageBody: aws.String(string(body)), DelaySeconds: int32(RestartGrace / time.Second),
	}); err != nil {
		return fmt.Errorf("restarting the drain of %s: %w", p.Action.InstanceID, err)
	}
	return nil
}
