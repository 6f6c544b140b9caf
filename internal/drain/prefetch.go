package drain

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
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
	instances map[string]seen         // by container instance ARN, for hops
	// byEvent holds the instances the batch's ECS events name. They are
	// kept apart so that a forked drain's hop, left out above, never reads
	// a mark described for an event.
	byEvent map[string]seen
}

type seen struct {
	instance Instance
	chain    *Chain
}

// Prefetch reads, in shared calls, the action status and the container
// instance of each drain whose hop is in the batch, and the container
// instance each ECS event names. A drain that appears twice (a fork) is left
// out, so each of its hops reads the mark the other may just have written. A
// failed call leaves its drains and events out: they make their own calls
// and report their own errors.
func (d *Drainer) Prefetch(ctx context.Context, states []State, events []lifecycle.ECSEvent) *Prefetch {
	p := &Prefetch{actions: map[string]ActionStatus{}, instances: map[string]seen{}, byEvent: map[string]seen{}}
	d.prefetchActions(ctx, p, states)
	var hops, named byCluster
	for _, s := range hopsToPrefetch(states) {
		if s.ContainerInstanceARN != "" {
			hops.add(s.Cluster, s.ContainerInstanceARN)
		}
	}
	for _, e := range events {
		if !e.ShowsTasks() { // else the event alone ends its handling
			named.add(e.Cluster(), e.ContainerInstanceARN)
		}
	}
	d.describeAll(ctx, hops, p.instances)
	d.describeAll(ctx, named, p.byEvent)
	return p
}

// byCluster gathers container instance ARNs by cluster, each once.
type byCluster struct {
	clusters []string
	arns     map[string][]string
}

func (b *byCluster) add(cluster, arn string) {
	if b.arns == nil {
		b.arns = map[string][]string{}
	}
	if _, ok := b.arns[cluster]; !ok {
		b.clusters = append(b.clusters, cluster)
	}
	if !slices.Contains(b.arns[cluster], arn) {
		b.arns[cluster] = append(b.arns[cluster], arn)
	}
}

// hopsToPrefetch are the states whose reads the batch shares: each drain's
// hop once it knows its hook, forks left out.
func hopsToPrefetch(states []State) []State {
	count := map[string]int{}
	for _, s := range states {
		count[s.InstanceID]++
	}
	var out []State
	for _, s := range states {
		if count[s.InstanceID] == 1 && s.HeartbeatTimeoutSeconds != 0 {
			out = append(out, s)
		}
	}
	return out
}

// prefetchActions asks Auto Scaling, 50 instances a call, whether each hop's
// action is pending.
func (d *Drainer) prefetchActions(ctx context.Context, p *Prefetch, states []State) {
	var ids []string
	for _, s := range hopsToPrefetch(states) {
		ids = append(ids, s.InstanceID)
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
}

// describeAll describes the container instances, 100 a call per cluster,
// into into.
func (d *Drainer) describeAll(ctx context.Context, b byCluster, into map[string]seen) {
	for _, cluster := range b.clusters {
		for batch := range slices.Chunk(b.arns[cluster], maxInstancesPerDescribe) {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			out, err := d.ecs.DescribeContainerInstances(cctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: batch})
			cancel()
			if err != nil {
				continue
			}
			for _, ci := range out.ContainerInstances {
				in, chain := described(ci)
				into[in.ARN] = seen{instance: in, chain: chain}
			}
			// An ARN ECS reports as a failure (MISSING: deregistered and
			// aged out) is not known here; its hop or event asks again.
		}
	}
}

// described returns the instance an ECS event names, if the batch described
// it with an EC2 instance id the drain may use.
func (p *Prefetch) described(arn string) (*Instance, *Chain, bool) {
	if p == nil {
		return nil, nil, false
	}
	v, ok := p.byEvent[arn]
	if !ok || !lifecycle.ValidInstanceID(v.instance.EC2InstanceID) {
		return nil, nil, false
	}
	in := v.instance
	return &in, v.chain, true
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
