package drain

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// Pending is a terminate lifecycle action of one of the drainer's hooks that
// is waiting, found by the reconciler rather than by an event.
type Pending struct {
	Action lifecycle.Action
	Meta   lifecycle.HookMetadata
}

// Waiting finds the instances of groups that wait on one of the drainer's
// terminate hooks: the hooks whose NotificationMetadata names a cluster, as
// the drainer's construct writes it. Hooks of others (such as ECS managed
// draining's) are left alone. The reconciler starts a drain for each; the
// chain mark makes that a no-op where a live chain already drains it.
func (d *Drainer) Waiting(ctx context.Context, groups []string) ([]Pending, error) {
	var pending []Pending
	for start := 0; start < len(groups); start += maxGroupsPerCall {
		batch := groups[start:min(start+maxGroupsPerCall, len(groups))]
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
				pending = append(pending, found...)
			}
		}
	}
	return pending, nil
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
	now := d.now()
	for _, h := range out.LifecycleHooks {
		meta, ok, err := lifecycle.ParseHookMetadata(aws.ToString(h.NotificationMetadata))
		if aws.ToString(h.LifecycleTransition) != lifecycle.TransitionTerminate || !ok || err != nil {
			continue
		}
		for _, id := range waiting {
			pending = append(pending, Pending{Meta: meta, Action: lifecycle.Action{
				Time: now, GroupName: aws.ToString(g.AutoScalingGroupName), HookName: aws.ToString(h.LifecycleHookName),
				InstanceID: id, Transition: lifecycle.TransitionTerminate,
			}})
		}
	}
	return pending, nil
}
