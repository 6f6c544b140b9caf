package autoscaling

import (
	"math"
	"slices"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Warm pools (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html):
// a pool of instances beside the group that scale out takes first. New pool
// instances boot, wait on the launch hooks in Warmed:Pending:Wait
// (EC2 → WarmPool), then stop into the pool state; scale out starts them into
// the group, where the launch hooks hold them again in Pending:Wait
// (WarmPool → AutoScalingGroup); with ReuseOnScaleIn, scale in returns
// instances to the pool through the terminate hooks (AutoScalingGroup →
// WarmPool, Warmed:Pending:Wait); an instance terminated out of the pool
// passes the terminate hooks in Warmed:Terminating:Wait (WarmPool → EC2).
//
// Simplified: an instance refresh replaces the pool's instances after the
// group's, all at once; the pool's instances are never unhealthy;
// MaxGroupPreparedCapacity and MinSize are not checked against each other.

// Warm pool states, the WarmPoolState enum of the API model.
const (
	PoolStateStopped    = "Stopped"
	PoolStateRunning    = "Running"
	PoolStateHibernated = "Hibernated"
)

var poolStates = []string{PoolStateStopped, PoolStateRunning, PoolStateHibernated}

// restStates maps a pool state to the lifecycle state of an instance
// resting in the pool.
var restStates = map[string]string{
	PoolStateStopped:    StateWarmedStopped,
	PoolStateRunning:    StateWarmedRunning,
	PoolStateHibernated: StateWarmedHibernated,
}

func restingInPool(state string) bool {
	return state == StateWarmedStopped || state == StateWarmedRunning || state == StateWarmedHibernated
}

// warmPoolPendingDelete is the only WarmPoolStatus.
const warmPoolPendingDelete = "PendingDelete"

type warmPool struct {
	minSize int
	// maxPrepared caps the group and the pool together; -1 when unset,
	// and the group's MaxSize applies.
	maxPrepared int
	state       string
	// reuse is InstanceReusePolicy.ReuseOnScaleIn, nil when no reuse policy
	// was given (DescribeWarmPool then shows none).
	reuse *bool
	// deleting is Status PendingDelete: the pool shrinks to nothing and
	// goes once its last instance is Terminated.
	deleting bool
}

func poolStateOf(p *warmPool) string {
	if p == nil {
		return PoolStateStopped
	}
	return p.state
}

// size is how many instances the pool keeps: "the difference between the
// Auto Scaling group's maximum capacity and its desired capacity", or
// between MaxGroupPreparedCapacity and the desired capacity when set, "the
// capacity of the warm pool is 0, unless you specify a value for MinSize"
// when the desired capacity is higher
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html,
// API_PutWarmPool).
func (p *warmPool) size(g *group) int {
	if p.deleting {
		return 0
	}
	prepared := g.max
	if p.maxPrepared >= 0 {
		prepared = p.maxPrepared
	}
	return max(p.minSize, prepared-g.desired, 0)
}

// poolUpdate is a PutWarmPool: nil fields keep their value, as PutWarmPool
// on an existing pool does (the model's "To remove a value that you
// previously set, include the property but specify -1").
type poolUpdate struct {
	minSize, maxPrepared *int
	state                string
	reuse                *bool
}

func (s *Server) putPool(g *group, u poolUpdate) {
	p := g.pool
	if p == nil {
		p = &warmPool{maxPrepared: -1, state: PoolStateStopped}
		g.pool = p
	}
	if u.minSize != nil {
		p.minSize = *u.minSize
	}
	if u.maxPrepared != nil {
		p.maxPrepared = *u.maxPrepared
	}
	if u.state != "" {
		p.state = u.state
	}
	if u.reuse != nil {
		p.reuse = u.reuse
	}
}

// sizePool launches instances into the pool or terminates the excess, and
// removes a pool PendingDelete once it is empty. Instances that lifecycle
// actions hold are not picked as excess: the pool shrinks once they
// proceed, as a non-forced DeleteWarmPool waits for them (ForceDelete is
// what "also deletes any outstanding lifecycle actions").
func (s *Server) sizePool(g *group, at time.Time) {
	p := g.pool
	if p == nil {
		return
	}
	var pool []*instance
	warm := 0
	for _, in := range g.instances {
		if in.warm() {
			warm++
		}
		if in.inPool() {
			pool = append(pool, in)
		}
	}
	want := p.size(g)
	if len(pool) < want {
		why := poolLaunchCause(len(pool), want, at)
		for len(pool) < want {
			pool = append(pool, s.launch(g, pool, true, why, at))
			warm++
		}
	}
	excess := len(pool) - want
	for _, in := range pool {
		if excess <= 0 {
			break
		}
		if !in.waiting() {
			s.terminate(in, poolShrinkCause(in, len(pool), want, at), at)
			excess--
		}
	}
	if p.deleting && warm == 0 {
		g.pool = nil
	}
}

// forceDeletePool deletes the pool at once; its instances terminate without
// their lifecycle actions (API_DeleteWarmPool, ForceDelete).
func (s *Server) forceDeletePool(g *group, at time.Time) {
	for _, in := range g.instances {
		if !in.warm() {
			continue
		}
		s.endActive(in, EndDeleted, at)
		if !in.leaving() {
			cancelLaunch(in, "", at)
			s.record(in, false, descTerminateFromPool, poolDeleteCause(in, at), at)
		}
		if in.state != StateWarmedTerminatingProceed {
			in.state, in.goneAt = StateWarmedTerminating, at.Add(s.shutdownTime)
		}
	}
	g.pool = nil
}

// poolGroup finds the group of a warm pool operation. A missing group is
// answered as AWS is seen to answer DescribeWarmPool and DeleteWarmPool
// (kubernetes/kops#11282: "ValidationError: AutoScalingGroup name not found
// - No such Auto Scaling group: …"); PutWarmPool is assumed to say the same.
func (s *Server) poolGroup(name string) (*group, *awswire.Error) {
	g, ok := s.groups[name]
	if !ok {
		return nil, awswire.ClientError("ValidationError", "AutoScalingGroup name not found - No such Auto Scaling group: %s", name)
	}
	return g, nil
}

func putWarmPool(s *Server, p params, _ time.Time) (any, *awswire.Error) {
	var c checks
	groupName := c.required(p, "AutoScalingGroupName")
	c.length("AutoScalingGroupName", groupName, 1, 255)
	var u poolUpdate
	if _, ok := p.get("MaxGroupPreparedCapacity"); ok {
		n := c.integer(p, "MaxGroupPreparedCapacity", 0, -1, math.MaxInt32)
		u.maxPrepared = &n
	}
	if _, ok := p.get("MinSize"); ok {
		n := c.integer(p, "MinSize", 0, 0, math.MaxInt32)
		u.minSize = &n
	}
	if v, ok := p.get("PoolState"); ok {
		c.enum("PoolState", v, poolStates)
		u.state = v
	}
	if _, ok := p.get("InstanceReusePolicy.ReuseOnScaleIn"); ok {
		b := c.boolean(p, "InstanceReusePolicy.ReuseOnScaleIn")
		u.reuse = &b
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	g, err := s.poolGroup(groupName)
	if err != nil {
		return nil, err
	}
	s.putPool(g, u)
	return nil, nil
}

// maxWarmPoolRecords is DescribeWarmPool's documented maximum MaxRecords.
const maxWarmPoolRecords = 50

// describeWarmPool lists the pool's instances, Terminated ones excepted, by
// instance ID. A group without a warm pool answers no configuration and no
// instances rather than an error, which is how the Terraform provider reads
// a deleted pool (findWarmPool: a nil WarmPoolConfiguration is "not
// found").
func describeWarmPool(s *Server, p params, _ time.Time) (any, *awswire.Error) {
	var c checks
	groupName := c.required(p, "AutoScalingGroupName")
	c.length("AutoScalingGroupName", groupName, 1, 255)
	max := c.integer(p, "MaxRecords", maxWarmPoolRecords, 1, maxWarmPoolRecords)
	token, _ := p.get("NextToken")
	if err := c.err(); err != nil {
		return nil, err
	}
	g, err := s.poolGroup(groupName)
	if err != nil {
		return nil, err
	}
	out := describeWarmPoolResult{}
	out.Instances.Member = []instanceXML{}
	if g.pool == nil {
		return out, nil
	}
	out.WarmPoolConfiguration = poolToXML(g.pool)
	byID := map[string]*instance{}
	for _, in := range g.instances {
		if in.warm() {
			byID[in.id] = in
		}
	}
	keys, next, err := page(sortedKeys(byID), token, max)
	if err != nil {
		return nil, err
	}
	out.NextToken = next
	for _, id := range keys {
		out.Instances.Member = append(out.Instances.Member, instanceToXML(byID[id]))
	}
	return out, nil
}

func deleteWarmPool(s *Server, p params, now time.Time) (any, *awswire.Error) {
	var c checks
	groupName := c.required(p, "AutoScalingGroupName")
	c.length("AutoScalingGroupName", groupName, 1, 255)
	force := c.boolean(p, "ForceDelete")
	if err := c.err(); err != nil {
		return nil, err
	}
	g, err := s.poolGroup(groupName)
	if err != nil {
		return nil, err
	}
	return nil, s.deletePool(g, force, now)
}

func (s *Server) deletePool(g *group, force bool, at time.Time) *awswire.Error {
	if g.pool == nil {
		// [unverified] The Terraform provider recognises this answer by
		// ValidationError and "No warm pool found"; the rest of the text is
		// a guess in AWS's style.
		return awswire.ClientError("ValidationError", "No warm pool found for Auto Scaling group: %s", g.name)
	}
	if force {
		s.forceDeletePool(g, at)
	} else {
		g.pool.deleting = true
	}
	return nil
}

// poolInstances returns the instances of the group's warm pool that are not
// Terminated, in launch order.
func poolInstances(g *group) []*instance {
	return slices.DeleteFunc(slices.Clone(g.instances), func(in *instance) bool { return !in.warm() })
}
