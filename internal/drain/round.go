package drain

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

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

// Round is what a batch's shared calls observed, and runs each of the
// batch's hops from it: a hop makes only the calls whose answer the round
// does not know.
type Round struct {
	d         *Drainer
	actions   map[actionKey]ActionStatus
	instances map[string]seen // by container instance ARN, for hops
	// byEC2 finds a first hop's container instance in instances.
	byEC2 map[ec2Key]string
	// hooks are the first hops' hooks; a heartbeat timeout of 0 for a hook
	// that does not exist.
	hooks map[hookKey]hookView
	// byEvent holds the instances the batch's ECS events name, by ARN.
	// They are kept apart so that a forked drain's hop, left out above,
	// never reads a mark described for an event.
	byEvent map[string]seen
	// eventActions are what Auto Scaling says of the EC2 instances of
	// byEvent whose drain may be over, by instance id.
	eventActions map[string]asgView
	// svc caches the services the batch's diagnoses described, by cluster
	// and name: one DescribeServices per cluster per round, 10 a call,
	// shared by the hops that run at once.
	svcMu sync.Mutex
	svc   map[string]map[string]ecstypes.Service
	// The diagnoses' other facts, shared the same way: the ACTIVE
	// instances by cluster, what a task of each task definition needs,
	// and each group's instances launching.
	factsMu   sync.Mutex
	active    map[string][]capacity
	needs     map[string]taskNeeds
	launching map[string]int
}

// services describes the cluster's services by name, from the round's
// cache where it can.
func (p *Round) services(ctx context.Context, cluster string, names []string) (map[string]ecstypes.Service, error) {
	p.svcMu.Lock()
	defer p.svcMu.Unlock()
	if p.svc == nil {
		p.svc = map[string]map[string]ecstypes.Service{}
	}
	cached := p.svc[cluster]
	if cached == nil {
		cached = map[string]ecstypes.Service{}
		p.svc[cluster] = cached
	}
	var missing []string
	for _, n := range names {
		if _, ok := cached[n]; !ok {
			missing = append(missing, n)
		}
	}
	got, err := p.d.describeServices(ctx, cluster, missing)
	maps.Copy(cached, got)
	out := make(map[string]ecstypes.Service, len(names))
	for _, n := range names {
		if svc, ok := cached[n]; ok {
			out[n] = svc
		}
	}
	return out, err
}

// actionKey names a lifecycle action by its group and EC2 instance: an
// action of another group on the same instance is not the drain's.
type actionKey struct{ group, instance string }

// hookKey names a lifecycle hook.
type hookKey struct{ group, hook string }

// ec2Key names an EC2 instance in a cluster.
type ec2Key struct{ cluster, instance string }

type seen struct {
	instance Instance
	chain    *Chain
}

// Start is a lifecycle action a batch starts a drain for.
type Start struct {
	Action lifecycle.Action
	Meta   lifecycle.HookMetadata
}

// Batch is what one invocation's records ask of the drains: first hops,
// later hops (re-queue messages) and ECS events.
type Batch struct {
	Starts []Start
	Hops   []State
	Events []lifecycle.ECSEvent
}

// Prefetch reads, in shared calls, what each record of the batch asks
// first: the hooks of the first hops, whether each drain's action is pending,
// its container instance and mark, and the container instance each ECS event
// names. A drain that appears twice (a fork) is left out, so each of its hops
// reads the mark the other may just have written. A failed call leaves its
// drains and events out: they make their own calls and report their own
// errors.
func (d *Drainer) Prefetch(ctx context.Context, b Batch) *Round {
	p := d.newRound()
	states := slices.Clone(b.Hops)
	for _, st := range b.Starts {
		states = append(states, d.begin(st.Action, st.Meta))
	}
	shared := sharedStates(states)
	d.prefetchHooks(ctx, p, shared)
	d.prefetchActions(ctx, p, shared)
	var hops, named, firsts byCluster // firsts: the EC2 instance ids of first hops
	for _, s := range shared {
		switch {
		case s.ContainerInstanceARN != "":
			hops.add(s.Cluster, s.ContainerInstanceARN)
		case s.Attempt == 1:
			firsts.add(s.Cluster, s.InstanceID)
		}
	}
	for _, c := range firsts.clusters {
		for _, arn := range d.listByEC2(ctx, c, firsts.ids[c]) {
			hops.add(c, arn)
		}
	}
	launching := map[string]bool{} // the ARNs of ECS events that may let a launch through
	for _, e := range b.Events {
		if !e.ShowsTasks() || e.Ready() { // else the event alone ends its handling
			named.add(e.Cluster(), e.ContainerInstanceARN)
		}
		if e.Ready() {
			launching[e.ContainerInstanceARN] = true
		}
	}
	d.describeAll(ctx, hops, p.instances)
	for arn, v := range p.instances {
		if c := clusterOfARN(hops, arn); c != "" {
			p.byEC2[ec2Key{c, v.instance.EC2InstanceID}] = arn
		}
	}
	d.describeAll(ctx, named, p.byEvent)
	// The instances whose drain an event may end (DRAINING under a mark,
	// nothing left on them as described), or whose launch it may let
	// through (usable): is their action still pending?
	var ready []string
	for arn, v := range p.byEvent {
		in := v.instance
		drained := in.Status == StatusDraining && v.chain != nil && !in.Busy
		if (drained || launching[arn] && Usable(&in)) && lifecycle.ValidInstanceID(in.EC2InstanceID) {
			ready = append(ready, in.EC2InstanceID)
		}
	}
	p.eventActions = d.waitingGroups(ctx, ready)
	return p
}

// newRound is a round that observed nothing yet.
func (d *Drainer) newRound() *Round {
	return &Round{d: d, actions: map[actionKey]ActionStatus{}, instances: map[string]seen{}, byEC2: map[ec2Key]string{}, hooks: map[hookKey]hookView{}, byEvent: map[string]seen{},
		active: map[string][]capacity{}, needs: map[string]taskNeeds{}, launching: map[string]int{}}
}

// clusterOfARN is the cluster b gathered arn under.
func clusterOfARN(b byCluster, arn string) string {
	for _, c := range b.clusters {
		if slices.Contains(b.ids[c], arn) {
			return c
		}
	}
	return ""
}

// listByEC2 finds the container instances of the EC2 instances ids, 50 ids
// a filter: the cluster query language's "in" makes ECS do the search for
// all of them in one call.
func (d *Drainer) listByEC2(ctx context.Context, cluster string, ids []string) []string {
	var arns []string
	for chunk := range slices.Chunk(ids, maxASGInstancesPerCall) {
		in := &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster), Filter: aws.String("ec2InstanceId in [" + strings.Join(chunk, ", ") + "]")}
		for {
			out, err := d.ecs.ListContainerInstances(ctx, in)
			if err != nil {
				break
			}
			arns = append(arns, out.ContainerInstanceArns...)
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	return arns
}

// prefetchHooks reads the first hops' hooks, one DescribeLifecycleHooks per
// group (all its hooks: the others are worth a warning).
func (d *Drainer) prefetchHooks(ctx context.Context, p *Round, states []State) {
	names := map[string][]string{} // group -> hook names
	var groups []string
	for _, s := range states {
		if s.HeartbeatTimeoutSeconds != 0 {
			continue
		}
		if _, ok := names[s.GroupName]; !ok {
			groups = append(groups, s.GroupName)
		}
		if !slices.Contains(names[s.GroupName], s.HookName) {
			names[s.GroupName] = append(names[s.GroupName], s.HookName)
		}
	}
	for _, g := range groups {
		out, err := d.asg.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String(g)})
		if err != nil {
			continue
		}
		found := hooksOf(out.LifecycleHooks)
		for _, h := range names[g] {
			p.hooks[hookKey{g, h}] = found[h]
		}
	}
}

// byCluster gathers ids (container instance ARNs, EC2 instance ids) by
// cluster, each once, clusters in the order first seen.
type byCluster struct {
	clusters []string
	ids      map[string][]string
}

func (b *byCluster) add(cluster, id string) {
	if b.ids == nil {
		b.ids = map[string][]string{}
	}
	if _, ok := b.ids[cluster]; !ok {
		b.clusters = append(b.clusters, cluster)
	}
	if !slices.Contains(b.ids[cluster], id) {
		b.ids[cluster] = append(b.ids[cluster], id)
	}
}

// sharedStates are the states whose reads the batch shares: every drain
// that appears once.
func sharedStates(states []State) []State {
	count := map[string]int{}
	for _, s := range states {
		count[s.InstanceID]++
	}
	var out []State
	for _, s := range states {
		if count[s.InstanceID] == 1 {
			out = append(out, s)
		}
	}
	return out
}

// prefetchActions asks Auto Scaling, 50 instances a call, whether each hop's
// action is pending.
func (d *Drainer) prefetchActions(ctx context.Context, p *Round, states []State) {
	ids := make([]string, len(states))
	for i, s := range states {
		ids[i] = s.InstanceID
	}
	found := d.waitingGroups(ctx, ids)
	for _, s := range states {
		if w, ok := found[s.InstanceID]; ok {
			p.actions[actionKey{s.GroupName, s.InstanceID}] = w.of(s)
		}
	}
}

// asgView is what Auto Scaling says of an instance: its group and lifecycle
// state.
type asgView struct {
	group string
	state string
}

// status is whether the instance waits in one of the states: the action
// that holds it there is pending.
func (w asgView) status(waits map[string]bool) ActionStatus {
	if waits[w.state] {
		return ActionPending
	}
	return ActionGone
}

// of is the status of drain or launch s's action: an action of another
// group is not s's.
func (w asgView) of(s State) ActionStatus {
	switch {
	case w.group != s.GroupName:
		return ActionGone
	case s.Launch:
		return w.status(launchWaitStates)
	}
	return w.status(terminateWaitStates)
}

// waitingGroups asks Auto Scaling about the instances, 50 a call. An
// instance it was asked about but does not know is answered with no group;
// one whose call failed is left out.
func (d *Drainer) waitingGroups(ctx context.Context, ids []string) map[string]asgView {
	found := map[string]asgView{}
	for batch := range slices.Chunk(ids, maxASGInstancesPerCall) {
		if w, err := d.describeWaiting(ctx, batch); err == nil {
			maps.Copy(found, w)
		}
	}
	return found
}

// describeWaiting asks Auto Scaling about up to 50 instances at once.
func (d *Drainer) describeWaiting(ctx context.Context, ids []string) (map[string]asgView, error) {
	out, err := d.asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: ids})
	if err != nil {
		return nil, fmt.Errorf("describing auto scaling instances %v: %w", ids, err)
	}
	found := make(map[string]asgView, len(ids))
	for _, id := range ids {
		found[id] = asgView{}
	}
	for _, in := range out.AutoScalingInstances {
		id := aws.ToString(in.InstanceId)
		if _, asked := found[id]; asked {
			found[id] = asgView{group: aws.ToString(in.AutoScalingGroupName), state: aws.ToString(in.LifecycleState)}
		}
	}
	return found, nil
}

// describeAll describes the container instances, 100 a call per cluster,
// into into.
func (d *Drainer) describeAll(ctx context.Context, b byCluster, into map[string]seen) {
	for _, cluster := range b.clusters {
		for batch := range slices.Chunk(b.ids[cluster], maxInstancesPerDescribe) {
			out, err := d.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: batch})
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
func (p *Round) described(arn string) (*Instance, *Chain, bool) {
	v, ok := p.byEvent[arn]
	if !ok || !lifecycle.ValidInstanceID(v.instance.EC2InstanceID) {
		return nil, nil, false
	}
	in := v.instance
	return &in, v.chain, true
}

// observe fills o with what p observed for drain s.
func (p *Round) observe(s State, o *Observation) {
	if a, ok := p.actions[actionKey{s.GroupName, s.InstanceID}]; ok {
		o.Action = a
	}
	if v, ok := p.instances[s.ContainerInstanceARN]; ok && s.ContainerInstanceARN != "" && v.instance.EC2InstanceID == s.InstanceID {
		in := v.instance
		o.Instance, o.Chain = &in, v.chain
	}
}

// observeStart fills o, and s's heartbeat timeout and deadline, with what p
// observed for the first hop of drain s. An instance the batch did not find
// is left to the hop's own lookup.
func (p *Round) observeStart(s *State, o *Observation) {
	if h, ok := p.hooks[hookKey{s.GroupName, s.HookName}]; ok {
		h.apply(s, o, p.d.policy)
	}
	if a, ok := p.actions[actionKey{s.GroupName, s.InstanceID}]; ok {
		o.Action = a
	}
	if arn, ok := p.byEC2[ec2Key{s.Cluster, s.InstanceID}]; ok {
		v := p.instances[arn]
		in := v.instance
		o.Instance, o.Chain = &in, v.chain
	}
}

// Start begins draining for a lifecycle action with its hook's metadata.
// recordID identifies the record carrying the action (see Observation).
func (p *Round) Start(ctx context.Context, a lifecycle.Action, meta lifecycle.HookMetadata, recordID string) (Result, error) {
	s := p.d.begin(a, meta)
	o := Observation{RecordID: recordID, IntoWarmPool: a.Launch() && a.IntoWarmPool(), round: p}
	p.observeStart(&s, &o)
	if o.Instance != nil && o.Instance.Found {
		p.d.adopt(&s, o)
	}
	return p.d.runFrom(ctx, s, o)
}

// Continue runs the next hop of drain s.
func (p *Round) Continue(ctx context.Context, s State, recordID string) (Result, error) {
	o := Observation{RecordID: recordID, round: p}
	p.observe(s, &o)
	return p.d.runFrom(ctx, s, o)
}
