package drain

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// Lost finds the instances of groups that wait on one of the drainer's
// terminate hooks (the hooks whose NotificationMetadata names a cluster, as
// the construct writes it; others' hooks, such as ECS managed draining's,
// are left alone) and that no live chain drains: their container instance
// carries no chain mark, or one overdue by more than StaleAfter. The calls
// grow with the number of groups and of draining container instances, a
// hundred to a call, not with the number of instances.
func (d *Drainer) Lost(ctx context.Context, groups []string) ([]Pending, error) {
	var waiting []Pending
	for batch := range slices.Chunk(groups, maxGroupsPerCall) {
		p := autoscaling.NewDescribeAutoScalingGroupsPaginator(d.asg, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: batch})
		for p.HasMorePages() {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			page, err := p.NextPage(cctx)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("describing auto scaling groups %v: %w", batch, err)
			}
			for _, g := range page.AutoScalingGroups {
				found, err := d.waitingIn(ctx, g)
				if err != nil {
					return nil, err
				}
				waiting = append(waiting, found...)
			}
		}
	}
	marks := map[string]map[string]Chain{} // cluster -> EC2 instance -> mark
	var lost []Pending
	now := d.now()
	for _, p := range waiting {
		m, ok := marks[p.Meta.Cluster]
		if !ok {
			var err error
			if m, err = d.chainMarks(ctx, p.Meta.Cluster); err != nil {
				return nil, err
			}
			marks[p.Meta.Cluster] = m
		}
		c, marked := m[p.Action.InstanceID]
		if !marked || now.After(c.Due.Add(StaleAfter(d.policy, p.HeartbeatTimeout))) {
			lost = append(lost, p)
		}
	}
	return lost, nil
}

// maxGroupsPerCall is DescribeAutoScalingGroups' limit on names per call.
const maxGroupsPerCall = 100

func (d *Drainer) waitingIn(ctx context.Context, g astypes.AutoScalingGroup) ([]Pending, error) {
	var waiting []string
	for _, in := range g.Instances {
		if terminateWaitStates[string(in.LifecycleState)] {
			waiting = append(waiting, aws.ToString(in.InstanceId))
		}
	}
	if len(waiting) == 0 {
		return nil, nil
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := d.asg.DescribeLifecycleHooks(cctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: g.AutoScalingGroupName})
	if err != nil {
		return nil, fmt.Errorf("describing lifecycle hooks of %s: %w", aws.ToString(g.AutoScalingGroupName), err)
	}
	var pending []Pending
	for _, h := range out.LifecycleHooks {
		meta, ok, err := lifecycle.ParseHookMetadata(aws.ToString(h.NotificationMetadata))
		if aws.ToString(h.LifecycleTransition) != lifecycle.TransitionTerminate || !ok || err != nil {
			continue
		}
		for _, id := range waiting {
			pending = append(pending, Pending{Meta: meta, HeartbeatTimeout: time.Duration(aws.ToInt32(h.HeartbeatTimeout)) * time.Second,
				Action: lifecycle.Action{GroupName: aws.ToString(g.AutoScalingGroupName), HookName: aws.ToString(h.LifecycleHookName),
					InstanceID: id, Transition: lifecycle.TransitionTerminate, NotificationMetadata: aws.ToString(h.NotificationMetadata)}})
		}
	}
	return pending, nil
}

// chainMarks reads the chain marks of the cluster's DRAINING container
// instances: only a drain marks an instance, and it sets it DRAINING first.
func (d *Drainer) chainMarks(ctx context.Context, cluster string) (map[string]Chain, error) {
	marks := map[string]Chain{}
	p := ecs.NewListContainerInstancesPaginator(d.ecs, &ecs.ListContainerInstancesInput{Cluster: &cluster, Status: ecstypes.ContainerInstanceStatusDraining})
	for p.HasMorePages() {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		page, err := p.NextPage(cctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("listing draining container instances of %s: %w", cluster, err)
		}
		if len(page.ContainerInstanceArns) == 0 {
			continue
		}
		cctx, cancel = context.WithTimeout(ctx, callTimeout)
		out, err := d.ecs.DescribeContainerInstances(cctx, &ecs.DescribeContainerInstancesInput{Cluster: &cluster, ContainerInstances: page.ContainerInstanceArns})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("describing draining container instances of %s: %w", cluster, err)
		}
		for _, ci := range out.ContainerInstances {
			if c, ok := chainOf(ci); ok {
				marks[aws.ToString(ci.Ec2InstanceId)] = c
			}
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
	body, err := json.Marshal(lifecycle.Envelope{
		Version: "0", ID: eventID, DetailType: lifecycle.DetailTypeTerminate, Source: lifecycle.SourceAutoScaling,
		Time: d.now().UTC().Truncate(time.Second), Resources: []string{}, Detail: detail,
	})
	if err != nil {
		return fmt.Errorf("encoding restart of %s: %w", p.Action.InstanceID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := d.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &d.queueURL, MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("restarting the drain of %s: %w", p.Action.InstanceID, err)
	}
	return nil
}
