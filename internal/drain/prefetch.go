package drain

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Batched polling. The hops of many drains handled in one invocation share
// their reads: one DescribeContainerInstances per cluster for up to 100
// instances and one DescribeAutoScalingInstances for up to 50, instead of one
// of each per hop. Each hop then starts from what the batch observed and
// makes only the calls whose answer is not known yet.

// API limits on ids per call.
const (
	maxInstancesPerDescribe = 100 // DescribeContainerInstances
	maxASGInstancesPerCall  = 50  // DescribeAutoScalingInstances
)

// Prefetch is what a batch's shared calls observed. The zero value (or nil)
// observed nothing.
type Prefetch struct {
	actions   map[string]ActionStatus // by "group/instance id"
	instances map[string]seen         // by container instance ARN
}

type seen struct {
	instance Instance
	chain    *Chain
}

// Prefetch reads, in shared calls, the action status and the container
// instance of each drain whose hop is in the batch. A drain that appears
// twice (a fork) is left out, so each of its hops reads the mark the other
// may just have written. A failed call leaves its drains out: their hops make
// their own calls and report their own errors.
func (d *Drainer) Prefetch(ctx context.Context, states []State) *Prefetch {
	p := &Prefetch{actions: map[string]ActionStatus{}, instances: map[string]seen{}}
	count := map[string]int{}
	for _, s := range states {
		count[s.InstanceID]++
	}
	var ids []string
	arns := map[string][]string{} // cluster -> container instance ARNs
	var clusters []string
	for _, s := range states {
		if count[s.InstanceID] != 1 || s.HeartbeatTimeoutSeconds == 0 {
			continue
		}
		ids = append(ids, s.InstanceID)
		if s.ContainerInstanceARN != "" {
			if _, ok := arns[s.Cluster]; !ok {
				clusters = append(clusters, s.Cluster)
			}
			arns[s.Cluster] = append(arns[s.Cluster], s.ContainerInstanceARN)
		}
	}
	want := map[string]string{} // instance id -> group, to answer only for the drain's own group
	for _, s := range states {
		want[s.InstanceID] = s.GroupName
	}
	for batch := range slices.Chunk(ids, maxASGInstancesPerCall) {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		out, err := d.asg.DescribeAutoScalingInstances(cctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: batch})
		cancel()
		if err != nil {
			continue
		}
		for _, id := range batch {
			p.actions[want[id]+"/"+id] = ActionGone
		}
		for _, in := range out.AutoScalingInstances {
			id, group := aws.ToString(in.InstanceId), aws.ToString(in.AutoScalingGroupName)
			if want[id] == group && terminateWaitStates[aws.ToString(in.LifecycleState)] {
				p.actions[group+"/"+id] = ActionPending
			}
		}
	}
	for _, cluster := range clusters {
		for batch := range slices.Chunk(arns[cluster], maxInstancesPerDescribe) {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			out, err := d.ecs.DescribeContainerInstances(cctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: batch})
			cancel()
			if err != nil {
				continue
			}
			for _, ci := range out.ContainerInstances {
				arn := aws.ToString(ci.ContainerInstanceArn)
				v := seen{instance: Instance{Found: true, ARN: arn, Status: aws.ToString(ci.Status), EC2InstanceID: aws.ToString(ci.Ec2InstanceId)}}
				if c, ok := chainOf(ci); ok {
					v.chain = &c
				}
				p.instances[arn] = v
			}
			// An ARN ECS reports as a failure (MISSING: deregistered and
			// aged out) is not known here; its hop asks again.
		}
	}
	return p
}

// observe fills o with what p observed for drain s.
func (p *Prefetch) observe(s State, o *Observation) {
	if p == nil {
		return
	}
	if a, ok := p.actions[s.GroupName+"/"+s.InstanceID]; ok {
		o.Action = a
	}
	if v, ok := p.instances[s.ContainerInstanceARN]; ok && s.ContainerInstanceARN != "" && v.instance.EC2InstanceID == s.InstanceID {
		in := v.instance
		o.Instance, o.Chain = &in, v.chain
	}
}

// ContinueWith runs the next hop of drain s starting from what the batch's
// shared calls observed (p may be nil).
func (d *Drainer) ContinueWith(ctx context.Context, s State, recordID string, p *Prefetch) (Result, error) {
	o := Observation{RecordID: recordID}
	p.observe(s, &o)
	return d.runFrom(ctx, s, o)
}
