package autoscaling

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// byInstance sorts events for comparison; the emulator emits them in launch
// order, which tests do not know.
var byInstance = cmpopts.SortSlices(func(a, b event) bool { return a.EC2InstanceID < b.EC2InstanceID })

var ignoreUnexported = cmpopts.IgnoreUnexported(types.WarmPoolConfiguration{}, types.InstanceReusePolicy{}, types.Instance{})

func launchEvent(hook, id, origin, dest string) event {
	return event{DetailTypeLaunch, LifecycleDetail{
		AutoScalingGroupName: "web", LifecycleHookName: hook, EC2InstanceID: id,
		LifecycleTransition: TransitionLaunching, Origin: origin, Destination: dest,
	}}
}

func terminateEvent(hook, id, origin, dest string) event {
	return event{DetailTypeTerminate, LifecycleDetail{
		AutoScalingGroupName: "web", LifecycleHookName: hook, EC2InstanceID: id,
		LifecycleTransition: TransitionTerminating, Origin: origin, Destination: dest,
	}}
}

func (e *env) wantStates(step string, want map[string]string) {
	e.t.Helper()
	ids := slices.Collect(func(yield func(string) bool) {
		for id := range want {
			if !yield(id) {
				return
			}
		}
	})
	if diff := gocmp.Diff(want, e.states(ids...)); diff != "" {
		e.t.Errorf("%s: DescribeAutoScalingInstances states (-want +got):\n%s", step, diff)
	}
}

func allIn(state string, ids ...string) map[string]string {
	m := map[string]string{}
	for _, id := range ids {
		m[id] = state
	}
	return m
}

// A warm pool must fill with new instances that boot in Warmed:Pending, wait
// on the launch hooks in Warmed:Pending:Wait announced as EC2 → WarmPool,
// and then reach the pool state, or a launch-hook consumer (the launch gate)
// cannot tell a launch into the pool from one into service and would wait
// for an ECS registration that never comes.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html (Example 1)
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeWarmPool.html
func TestWarmPoolFillsThroughTheLaunchHook(t *testing.T) {
	for _, tc := range []struct {
		poolState                types.WarmPoolState
		wantProceeding, wantRest string
		wantStopped              bool
	}{
		{"", StateWarmedPendingProceed, StateWarmedStopped, true},
		{types.WarmPoolStateHibernated, StateWarmedPendingProceed, StateWarmedHibernated, true},
		// A running pool has nothing to stop: the instance rests at once.
		{types.WarmPoolStateRunning, StateWarmedRunning, StateWarmedRunning, false},
	} {
		t.Run("PoolState "+cmp.Or(string(tc.poolState), "unset"), func(t *testing.T) {
			e := newEnv(t, Options{BootTime: time.Minute})
			e.group("web", 0, Hook{Name: "ready", Transition: TransitionLaunching, NotificationMetadata: "m"})
			e.putWarmPool(&autoscaling.PutWarmPoolInput{
				AutoScalingGroupName: aws.String("web"), MaxGroupPreparedCapacity: aws.Int32(2), PoolState: tc.poolState,
			})

			out := e.describeWarmPool("web")
			wantConfig := &types.WarmPoolConfiguration{
				MaxGroupPreparedCapacity: aws.Int32(2), MinSize: aws.Int32(0), PoolState: cmp.Or(tc.poolState, types.WarmPoolStateStopped),
			}
			if diff := gocmp.Diff(wantConfig, out.WarmPoolConfiguration, ignoreUnexported); diff != "" {
				t.Errorf("WarmPoolConfiguration (-want +got):\n%s", diff)
			}
			var ids []string
			for _, in := range out.Instances {
				ids = append(ids, aws.ToString(in.InstanceId))
				if in.LifecycleState != types.LifecycleStateWarmedPending || aws.ToString(in.HealthStatus) != "Healthy" {
					t.Errorf("instance %s while booting: got %s/%s, want Warmed:Pending/Healthy", aws.ToString(in.InstanceId), in.LifecycleState, aws.ToString(in.HealthStatus))
				}
			}
			if len(ids) != 2 {
				t.Fatalf("DescribeWarmPool instances: got %d, want 2 (MaxGroupPreparedCapacity 2 minus desired 0)", len(ids))
			}
			if ev := e.lifecycleEvents(); len(ev) != 0 {
				t.Errorf("events while booting: got %v, want none", ev)
			}

			e.advance(time.Minute)
			e.wantStates("booted", allIn(StateWarmedPendingWait, ids...))
			var want []event
			for _, id := range ids {
				ev := launchEvent("ready", id, OriginEC2, OriginWarmPool)
				ev.NotificationMetadata = "m"
				want = append(want, ev)
			}
			if diff := gocmp.Diff(want, e.lifecycleEvents(), byInstance); diff != "" {
				t.Errorf("launch events (-want +got):\n%s", diff)
			}

			e.completeAll("web", "ready", ids...)
			e.wantStates("after the launch actions", allIn(tc.wantProceeding, ids...))
			e.advance(DefaultShutdownTime)
			e.wantStates("after EC2 stopped them", allIn(tc.wantRest, ids...))

			_, launched, _ := e.recorded()
			if len(launched) != 0 {
				t.Errorf("OnLaunch: got %v, want none for instances bound for the pool", launched)
			}
			var wantStopped []string
			if tc.wantStopped {
				wantStopped = ids
			}
			if diff := gocmp.Diff(wantStopped, e.stoppedIDs(), cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("OnStopped (-want +got):\n%s", diff)
			}
		})
	}
}

// The pool must keep as many instances as documented, or a scenario sized
// on the docs gets a different pool: MaxSize (or MaxGroupPreparedCapacity)
// minus the desired capacity, no fewer than MinSize, none when the desired
// capacity is higher unless MinSize says otherwise.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html
func TestWarmPoolSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		pool WarmPool
		want int
	}{
		{"by default MaxSize minus the desired capacity", WarmPool{}, 6},
		{"MaxGroupPreparedCapacity minus the desired capacity", WarmPool{MaxGroupPreparedCapacity: aws.Int32(8)}, 4},
		{"none when the desired capacity is above MaxGroupPreparedCapacity", WarmPool{MaxGroupPreparedCapacity: aws.Int32(3)}, 0},
		{"MinSize even then", WarmPool{MaxGroupPreparedCapacity: aws.Int32(3), MinSize: 2}, 2},
		{"MinSize above the difference", WarmPool{MinSize: 7}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			if _, _, err := e.srv.CreateGroup("web", 0, 10, 4); err != nil {
				t.Fatal(err)
			}
			if err := e.srv.PutWarmPool("web", tc.pool); err != nil {
				t.Fatal(err)
			}
			if got := len(e.srv.WarmInstances("web")); got != tc.want {
				t.Errorf("warm instances of a group of max 10, desired 4: got %d, want %d", got, tc.want)
			}
			out, err := e.client.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToInt32(out.AutoScalingGroups[0].WarmPoolSize); int(got) != tc.want {
				t.Errorf("WarmPoolSize: got %d, want %d", got, tc.want)
			}
		})
	}
}

// PutWarmPool on an existing pool must change only the parameters given,
// and -1 must unset MaxGroupPreparedCapacity, or updating one setting
// silently resets the others.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html
// ("To remove a value that you previously set, include the property but
// specify -1 for the value"; hashicorp/terraform-provider-aws#44732 shows an
// omitted MinSize left in place).
func TestPutWarmPoolUpdatesOnlyGivenParameters(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1)
	steps := []struct {
		name string
		put  autoscaling.PutWarmPoolInput
		want types.WarmPoolConfiguration
	}{
		{"create", autoscaling.PutWarmPoolInput{MinSize: aws.Int32(2), MaxGroupPreparedCapacity: aws.Int32(5), InstanceReusePolicy: &types.InstanceReusePolicy{ReuseOnScaleIn: aws.Bool(true)}},
			types.WarmPoolConfiguration{MinSize: aws.Int32(2), MaxGroupPreparedCapacity: aws.Int32(5), PoolState: types.WarmPoolStateStopped, InstanceReusePolicy: &types.InstanceReusePolicy{ReuseOnScaleIn: aws.Bool(true)}}},
		{"change the pool state only", autoscaling.PutWarmPoolInput{PoolState: types.WarmPoolStateRunning},
			types.WarmPoolConfiguration{MinSize: aws.Int32(2), MaxGroupPreparedCapacity: aws.Int32(5), PoolState: types.WarmPoolStateRunning, InstanceReusePolicy: &types.InstanceReusePolicy{ReuseOnScaleIn: aws.Bool(true)}}},
		{"unset MaxGroupPreparedCapacity with -1", autoscaling.PutWarmPoolInput{MaxGroupPreparedCapacity: aws.Int32(-1)},
			types.WarmPoolConfiguration{MinSize: aws.Int32(2), PoolState: types.WarmPoolStateRunning, InstanceReusePolicy: &types.InstanceReusePolicy{ReuseOnScaleIn: aws.Bool(true)}}},
	}
	for _, s := range steps {
		s.put.AutoScalingGroupName = aws.String("web")
		e.putWarmPool(&s.put)
		if diff := gocmp.Diff(&s.want, e.describeWarmPool("web").WarmPoolConfiguration, ignoreUnexported); diff != "" {
			t.Errorf("%s: WarmPoolConfiguration (-want +got):\n%s", s.name, diff)
		}
	}
}

// Scale out must take a warm instance first, held by the launch hooks in
// Pending:Wait and announced as WarmPool → AutoScalingGroup, and launch a
// new one only once the pool is empty (EC2 → AutoScalingGroup), or a
// launch-hook consumer misreads where the instance comes from; an instance
// back from the pool must be reported to the harness again, since its agent
// reconnects.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html (Examples 2 and 3)
func TestScaleOutTakesWarmInstancesFirst(t *testing.T) {
	e := newEnv(t, Options{BootTime: 30 * time.Second})
	first := e.group("web", 1)[0]
	if err := e.srv.PutWarmPool("web", WarmPool{MaxGroupPreparedCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	e.advance(30*time.Second + DefaultShutdownTime)
	warm := e.warmIDs("web")
	if len(warm) != 1 {
		t.Fatalf("warm instances: got %v, want one (MaxGroupPreparedCapacity 2 minus desired 1)", warm)
	}
	e.wantStates("before scale out", map[string]string{first: StateInService, warm[0]: StateWarmedStopped})
	if err := e.srv.PutLifecycleHook(Hook{Group: "web", Name: "ready", Transition: TransitionLaunching}); err != nil {
		t.Fatal(err)
	}
	_, launchedBefore, _ := e.recorded()

	e.setDesired("web", 2)
	e.wantStates("the warm instance starts", map[string]string{warm[0]: StatePending})
	e.advance(30 * time.Second)
	e.wantStates("the warm instance is up", map[string]string{warm[0]: StatePendingWait})

	e.setDesired("web", 3)
	var cold string
	for _, in := range e.groupInstances("web") {
		if id := aws.ToString(in.InstanceId); id != first && id != warm[0] {
			cold = id
		}
	}
	if len(e.srv.WarmInstances("web")) != 0 || cold == "" {
		t.Fatalf("with the pool empty: got warm %v and no new member, want a cold start", e.warmIDs("web"))
	}
	e.advance(30 * time.Second)
	e.wantStates("both held by the launch hook", map[string]string{warm[0]: StatePendingWait, cold: StatePendingWait})
	want := []event{launchEvent("ready", warm[0], OriginWarmPool, OriginAutoScalingGroup), launchEvent("ready", cold, OriginEC2, OriginAutoScalingGroup)}
	if diff := gocmp.Diff(want, e.lifecycleEvents()); diff != "" {
		t.Errorf("launch events (-want +got):\n%s", diff)
	}
	_, launched, _ := e.recorded()
	if diff := gocmp.Diff([]string{warm[0], cold}, launched[len(launchedBefore):]); diff != "" {
		t.Errorf("OnLaunch after scale out (-want +got):\n%s", diff)
	}

	e.completeAll("web", "ready", warm[0], cold)
	e.wantStates("after the launch actions", allIn(StateInService, first, warm[0], cold))
}

// A warm instance terminated out of the pool must pass every terminate hook
// in Warmed:Terminating:Wait, one event each (WarmPool → EC2), and go only
// when all actions have ended, each hook's heartbeat and completion touching
// only its own action; the pool must launch its replacement and the group
// keep its desired capacity. Otherwise a drainer that handles
// Warmed:Terminating:Wait is never exercised, or one hook cuts another short.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html ("you can terminate existing instances in the warm pool")
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html
func TestWarmInstanceTerminatedOutOfThePoolPassesEachTerminateHook(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1, Hook{Name: "drain", HeartbeatTimeout: 300}, Hook{Name: "audit", HeartbeatTimeout: 300})
	if err := e.srv.PutWarmPool("web", WarmPool{MaxGroupPreparedCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	e.advance(DefaultShutdownTime)
	w := e.warmIDs("web")[0]

	out, err := e.client.TerminateInstanceInAutoScalingGroup(e.ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(w), ShouldDecrementDesiredCapacity: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := out.Activity; a.StatusCode != types.ScalingActivityStatusCodeInProgress {
		t.Errorf("activity: got %+v, want InProgress", a)
	}
	e.wantStates("terminating", map[string]string{w: StateWarmedTerminatingWait})
	want := []event{terminateEvent("drain", w, OriginWarmPool, OriginEC2), terminateEvent("audit", w, OriginWarmPool, OriginEC2)}
	if diff := gocmp.Diff(want, e.lifecycleEvents()); diff != "" {
		t.Errorf("terminate events (-want +got):\n%s", diff)
	}
	if g := e.describeGroup("web"); aws.ToInt32(g.DesiredCapacity) != 1 || aws.ToInt32(g.WarmPoolSize) != 2 {
		t.Errorf("group: got desired %d, warm pool size %d; want 1 and 2 (the terminating one and its replacement)", aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.WarmPoolSize))
	}

	e.clk.Advance(time.Minute)
	auditDeadline := e.action(w, "audit").Deadline
	if err := e.heartbeat("web", "drain", w, ""); err != nil {
		t.Fatal(err)
	}
	if got := e.action(w, "audit").Deadline; !got.Equal(auditDeadline) {
		t.Errorf("audit deadline after a heartbeat on drain: got %v, want %v unchanged", got, auditDeadline)
	}
	if err := e.complete("web", "drain", "", e.action(w, "drain").Token, ResultContinue); err != nil {
		t.Fatal(err)
	}
	e.wantStates("one of two hooks completed", map[string]string{w: StateWarmedTerminatingWait})
	if a := e.action(w, "audit"); !a.Active {
		t.Errorf("audit after drain completed: got end %s, want active", a.End)
	}
	if err := e.complete("web", "audit", w, "", ResultContinue); err != nil {
		t.Fatal(err)
	}
	e.wantStates("both hooks completed", map[string]string{w: StateWarmedTerminatingProceed})
	e.advance(DefaultShutdownTime)
	e.wantStates("after EC2 shut it down", map[string]string{w: ""})
	if got := e.state(w); got != StateWarmedTerminated {
		t.Errorf("control view: got %s, want %s", got, StateWarmedTerminated)
	}
	_, _, terminated := e.recorded()
	if !gocmp.Equal(terminated, []string{w}) {
		t.Errorf("OnTerminate: got %v, want [%s]", terminated, w)
	}
	if got := e.warmIDs("web"); len(got) != 1 || got[0] == w {
		t.Errorf("warm pool after the termination: got %v, want one replacement", got)
	}
}

// Lowering the pool's size must terminate the excess through the terminate
// hooks, from the pool (Warmed:Terminating:Wait, WarmPool → EC2), or a
// drainer never learns of those instances.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
func TestLoweringThePoolSizeTerminatesWarmInstancesThroughTheHooks(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1, Hook{Name: "drain"})
	e.putWarmPool(&autoscaling.PutWarmPoolInput{AutoScalingGroupName: aws.String("web"), MaxGroupPreparedCapacity: aws.Int32(3)})
	e.advance(DefaultShutdownTime)
	warm := e.warmIDs("web")
	if len(warm) != 2 {
		t.Fatalf("warm instances: got %v, want 2", warm)
	}

	e.putWarmPool(&autoscaling.PutWarmPoolInput{AutoScalingGroupName: aws.String("web"), MaxGroupPreparedCapacity: aws.Int32(2)})

	e.wantStates("after lowering the size by one", map[string]string{warm[0]: StateWarmedTerminatingWait, warm[1]: StateWarmedStopped})
	if diff := gocmp.Diff([]event{terminateEvent("drain", warm[0], OriginWarmPool, OriginEC2)}, e.lifecycleEvents()); diff != "" {
		t.Errorf("terminate events (-want +got):\n%s", diff)
	}
}

// DeleteWarmPool without ForceDelete must leave the pool PendingDelete while
// its instances finish their outstanding actions and then pass the
// terminate hooks, and remove it once they are gone; with ForceDelete the
// pool and its actions go at once, without hooks. Otherwise deleting a pool
// either skips the drainer or hangs.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DeleteWarmPool.html
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_WarmPoolConfiguration.html (Status PendingDelete)
func TestDeleteWarmPool(t *testing.T) {
	setup := func(t *testing.T) (*env, string) {
		e := newEnv(t, Options{})
		e.group("web", 1, Hook{Name: "ready", Transition: TransitionLaunching}, Hook{Name: "drain"})
		if err := e.srv.PutWarmPool("web", WarmPool{MaxGroupPreparedCapacity: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
		w := e.warmIDs("web")[0]
		e.wantStates("the warm instance waits on its launch hook", map[string]string{w: StateWarmedPendingWait})
		e.lifecycleEvents()
		return e, w
	}
	deleted := func(t *testing.T, e *env) {
		t.Helper()
		out := e.describeWarmPool("web")
		if out.WarmPoolConfiguration != nil || len(out.Instances) != 0 {
			t.Errorf("DescribeWarmPool of a deleted pool: got %+v with %d instances, want neither", out.WarmPoolConfiguration, len(out.Instances))
		}
		if g := e.describeGroup("web"); g.WarmPoolConfiguration != nil || g.WarmPoolSize != nil {
			t.Errorf("DescribeAutoScalingGroups of a deleted pool: got %+v, size %v; want neither", g.WarmPoolConfiguration, g.WarmPoolSize)
		}
		_, err := e.client.DeleteWarmPool(e.ctx, &autoscaling.DeleteWarmPoolInput{AutoScalingGroupName: aws.String("web")})
		if code, msg := apiError(t, err); code != "ValidationError" || !strings.HasPrefix(msg, "No warm pool found") {
			t.Errorf("deleting it again: got %s: %q, want ValidationError: No warm pool found…", code, msg)
		}
	}

	t.Run("without ForceDelete", func(t *testing.T) {
		e, w := setup(t)
		if _, err := e.client.DeleteWarmPool(e.ctx, &autoscaling.DeleteWarmPoolInput{AutoScalingGroupName: aws.String("web")}); err != nil {
			t.Fatal(err)
		}
		out := e.describeWarmPool("web")
		if out.WarmPoolConfiguration == nil || out.WarmPoolConfiguration.Status != types.WarmPoolStatusPendingDelete || len(out.Instances) != 1 {
			t.Fatalf("DescribeWarmPool while deleting: got %+v with %d instances, want Status PendingDelete and the instance", out.WarmPoolConfiguration, len(out.Instances))
		}
		e.wantStates("its launch action is still outstanding", map[string]string{w: StateWarmedPendingWait})

		e.completeAll("web", "ready", w)
		e.wantStates("then it is terminated through the terminate hook", map[string]string{w: StateWarmedTerminatingWait})
		if diff := gocmp.Diff([]event{terminateEvent("drain", w, OriginWarmPool, OriginEC2)}, e.lifecycleEvents()); diff != "" {
			t.Errorf("terminate events (-want +got):\n%s", diff)
		}
		e.completeAll("web", "drain", w)
		e.advance(DefaultShutdownTime)
		e.wantStates("after EC2 shut it down", map[string]string{w: ""})
		deleted(t, e)
	})

	t.Run("with ForceDelete", func(t *testing.T) {
		e, w := setup(t)
		if _, err := e.client.DeleteWarmPool(e.ctx, &autoscaling.DeleteWarmPoolInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		if a := e.action(w, "ready"); a.Active || a.End != EndDeleted {
			t.Errorf("the outstanding launch action: got active %v, end %q; want ended %q", a.Active, a.End, EndDeleted)
		}
		e.wantStates("terminating without hooks", map[string]string{w: StateWarmedTerminating})
		if ev := e.lifecycleEvents(); len(ev) != 0 {
			t.Errorf("events: got %v, want none", ev)
		}
		e.advance(DefaultShutdownTime)
		e.wantStates("after EC2 shut it down", map[string]string{w: ""})
		deleted(t, e)
	})
}

// With ReuseOnScaleIn, scale in must return the instance to the pool
// through the terminate hooks, waiting in Warmed:Pending:Wait with events
// AutoScalingGroup → WarmPool, then stop rather than terminate; without it,
// scale in terminates as always (AutoScalingGroup → EC2) even with a pool.
// A drainer that misreads either would deregister an instance that comes
// back, or miss one that goes.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html (Example 4)
func TestScaleInWithAWarmPool(t *testing.T) {
	t.Run("ReuseOnScaleIn returns the instance to the pool", func(t *testing.T) {
		e := newEnv(t, Options{})
		ids := e.group("web", 2, Hook{Name: "drain"})
		if err := e.srv.PutWarmPool("web", WarmPool{MaxGroupPreparedCapacity: aws.Int32(2), ReuseOnScaleIn: true}); err != nil {
			t.Fatal(err)
		}
		victim := ids[0]

		e.setDesired("web", 1)

		e.wantStates("scaled in", map[string]string{victim: StateWarmedPendingWait, ids[1]: StateInService})
		if diff := gocmp.Diff([]event{terminateEvent("drain", victim, OriginAutoScalingGroup, OriginWarmPool)}, e.lifecycleEvents()); diff != "" {
			t.Errorf("terminate events (-want +got):\n%s", diff)
		}
		if members := e.groupInstances("web"); len(members) != 1 || aws.ToString(members[0].InstanceId) != ids[1] {
			t.Errorf("group members: got %v, want only %s", members, ids[1])
		}
		e.completeAll("web", "drain", victim)
		e.wantStates("after the hook", map[string]string{victim: StateWarmedPendingProceed})
		e.advance(DefaultShutdownTime)
		e.wantStates("after EC2 stopped it", map[string]string{victim: StateWarmedStopped})
		_, launched, terminated := e.recorded()
		if len(terminated) != 0 || !gocmp.Equal(e.stoppedIDs(), []string{victim}) {
			t.Errorf("callbacks: got OnTerminate %v, OnStopped %v; want none and [%s]", terminated, e.stoppedIDs(), victim)
		}

		e.setDesired("web", 2)
		_, launchedAgain, _ := e.recorded()
		if diff := gocmp.Diff([]string{victim}, launchedAgain[len(launched):]); diff != "" {
			t.Errorf("OnLaunch when the instance comes back (-want +got):\n%s", diff)
		}
		e.wantStates("scaled out again", map[string]string{victim: StateInService})
	})

	t.Run("without ReuseOnScaleIn the instance terminates", func(t *testing.T) {
		e := newEnv(t, Options{})
		ids := e.group("web", 2, Hook{Name: "drain"})
		if err := e.srv.PutWarmPool("web", WarmPool{MaxGroupPreparedCapacity: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
		e.setDesired("web", 1)
		e.wantStates("scaled in", map[string]string{ids[0]: StateTerminatingWait})
		if diff := gocmp.Diff([]event{terminateEvent("drain", ids[0], OriginAutoScalingGroup, OriginEC2)}, e.lifecycleEvents()); diff != "" {
			t.Errorf("terminate events (-want +got):\n%s", diff)
		}
	})
}

// Warm-pool instances must show in DescribeAutoScalingInstances with their
// Warmed: state and in DescribeWarmPool, and not among the group's
// Instances, which instead reports WarmPoolConfiguration and WarmPoolSize;
// the drainer looks instances up with DescribeAutoScalingInstances and
// would take a warm one for unknown otherwise.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_AutoScalingInstanceDetails.html (LifecycleState: Warmed:*)
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html ("To retrieve information about the instances in a warm pool, you must call the DescribeWarmPool API")
func TestWarmInstancesAreListedWhereDocumented(t *testing.T) {
	e := newEnv(t, Options{})
	member := e.group("web", 1)[0]
	if err := e.srv.PutWarmPool("web", WarmPool{MaxGroupPreparedCapacity: aws.Int32(2), MinSize: 1}); err != nil {
		t.Fatal(err)
	}
	e.advance(DefaultShutdownTime)
	warm := e.warmIDs("web")[0]

	e.wantStates("DescribeAutoScalingInstances", map[string]string{member: StateInService, warm: StateWarmedStopped})
	g := e.describeGroup("web")
	if len(g.Instances) != 1 || aws.ToString(g.Instances[0].InstanceId) != member {
		t.Errorf("DescribeAutoScalingGroups Instances: got %v, want only the member %s", g.Instances, member)
	}
	wantConfig := &types.WarmPoolConfiguration{MaxGroupPreparedCapacity: aws.Int32(2), MinSize: aws.Int32(1), PoolState: types.WarmPoolStateStopped}
	if diff := gocmp.Diff(wantConfig, g.WarmPoolConfiguration, ignoreUnexported); diff != "" || aws.ToInt32(g.WarmPoolSize) != 1 {
		t.Errorf("DescribeAutoScalingGroups warm pool: size %d, configuration (-want +got):\n%s", aws.ToInt32(g.WarmPoolSize), diff)
	}
	want := []types.Instance{{
		InstanceId: aws.String(warm), AvailabilityZone: aws.String(e.srv.WarmInstances("web")[0].AvailabilityZone),
		LifecycleState: types.LifecycleStateWarmedStopped, HealthStatus: aws.String("Healthy"), ProtectedFromScaleIn: aws.Bool(false),
	}}
	if diff := gocmp.Diff(want, e.describeWarmPool("web").Instances, ignoreUnexported); diff != "" {
		t.Errorf("DescribeWarmPool Instances (-want +got):\n%s", diff)
	}
}

// DescribeWarmPool must page with MaxRecords (at most 50) and NextToken and
// list every instance once, or the SDK paginator loops or misses instances.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeWarmPool.html
func TestDescribeWarmPoolPages(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 0)
	if err := e.srv.PutWarmPool("web", WarmPool{MaxGroupPreparedCapacity: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	want := e.warmIDs("web")
	var got []string
	pages := 0
	p := autoscaling.NewDescribeWarmPoolPaginator(e.client, &autoscaling.DescribeWarmPoolInput{AutoScalingGroupName: aws.String("web"), MaxRecords: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, in := range out.Instances {
			got = append(got, aws.ToString(in.InstanceId))
		}
	}
	if diff := gocmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" || pages != 3 {
		t.Errorf("MaxRecords 2 over 5 instances: got %d pages, want 3; instances (-want +got):\n%s", pages, diff)
	}
	_, err := e.client.DescribeWarmPool(e.ctx, &autoscaling.DescribeWarmPoolInput{AutoScalingGroupName: aws.String("web"), MaxRecords: aws.Int32(51)})
	if code, msg := apiError(t, err); code != "ValidationError" || !strings.Contains(msg, "Member must have value less than or equal to 50") {
		t.Errorf("MaxRecords 51: got %s: %q, want ValidationError", code, msg)
	}
}

// The warm pool operations must refuse what the model and AWS refuse, with
// AWS's codes, so callers' error handling can be tested here.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeWarmPool.html
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DeleteWarmPool.html
// (the unknown-group text as AWS answers it in kubernetes/kops#11282)
func TestWarmPoolErrors(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1)
	put := func(in autoscaling.PutWarmPoolInput) error {
		in.AutoScalingGroupName = cmp.Or(in.AutoScalingGroupName, aws.String("web"))
		_, err := e.client.PutWarmPool(e.ctx, &in)
		return err
	}
	const noGroup = "AutoScalingGroup name not found - No such Auto Scaling group: nope"
	for _, tc := range []struct {
		name    string
		call    func() error
		wantMsg string
	}{
		{"a pool state outside the enum", func() error { return put(autoscaling.PutWarmPoolInput{PoolState: "Frozen"}) },
			"1 validation error detected: Value 'Frozen' at 'poolState' failed to satisfy constraint: Member must satisfy enum value set: [Stopped, Running, Hibernated]"},
		{"a negative MinSize", func() error { return put(autoscaling.PutWarmPoolInput{MinSize: aws.Int32(-1)}) },
			"Member must have value greater than or equal to 0"},
		{"MaxGroupPreparedCapacity below -1", func() error { return put(autoscaling.PutWarmPoolInput{MaxGroupPreparedCapacity: aws.Int32(-2)}) },
			"Member must have value greater than or equal to -1"},
		{"PutWarmPool on an unknown group", func() error { return put(autoscaling.PutWarmPoolInput{AutoScalingGroupName: aws.String("nope")}) }, noGroup},
		{"DescribeWarmPool of an unknown group", func() error {
			_, err := e.client.DescribeWarmPool(e.ctx, &autoscaling.DescribeWarmPoolInput{AutoScalingGroupName: aws.String("nope")})
			return err
		}, noGroup},
		{"DeleteWarmPool of an unknown group", func() error {
			_, err := e.client.DeleteWarmPool(e.ctx, &autoscaling.DeleteWarmPoolInput{AutoScalingGroupName: aws.String("nope")})
			return err
		}, noGroup},
		{"DeleteWarmPool of a group without one", func() error {
			_, err := e.client.DeleteWarmPool(e.ctx, &autoscaling.DeleteWarmPoolInput{AutoScalingGroupName: aws.String("web")})
			return err
		}, "No warm pool found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("got success, want ValidationError")
			}
			if code, msg := apiError(t, err); code != "ValidationError" || !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("got %s: %q, want ValidationError containing %q", code, msg, tc.wantMsg)
			}
		})
	}
	if out := e.describeWarmPool("web"); out.WarmPoolConfiguration != nil || out.Instances == nil || len(out.Instances) != 0 {
		t.Errorf("DescribeWarmPool of a group without one: got %+v, %v; want no configuration and an empty list", out.WarmPoolConfiguration, out.Instances)
	}
}

// An instance refresh must replace the group's instances first and then the
// warm pool's, each through the terminate hooks, without moving old warm
// instances into the group, or a rolling update leaves stale instances in
// the pool to be started later.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html ("An instance refresh first replaces InService instances. Then it replaces instances in the warm pool")
func TestInstanceRefreshReplacesTheWarmPoolAfterTheGroup(t *testing.T) {
	e := newEnv(t, Options{})
	old := e.group("web", 2, Hook{Name: "drain"})
	if err := e.srv.PutWarmPool("web", WarmPool{MaxGroupPreparedCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	e.advance(DefaultShutdownTime)
	oldWarm := e.warmIDs("web")[0]
	if _, err := e.client.StartInstanceRefresh(e.ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	for step := 0; ; step++ {
		desc, err := e.client.DescribeInstanceRefreshes(e.ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		if desc.InstanceRefreshes[0].Status == types.InstanceRefreshStatusSuccessful {
			break
		}
		if step == 20 {
			t.Fatalf("refresh still %s after %d steps", desc.InstanceRefreshes[0].Status, step)
		}
		for _, a := range e.srv.Actions() {
			if a.Active {
				e.completeAll("web", "drain", a.InstanceID)
			}
		}
		e.advance(DefaultShutdownTime)
	}

	warmAction := e.action(oldWarm, "drain")
	if warmAction.Origin != OriginWarmPool || warmAction.Destination != OriginEC2 || e.state(oldWarm) != StateWarmedTerminated {
		t.Errorf("old warm instance: got %s via %s → %s, want Warmed:Terminated via WarmPool → EC2", e.state(oldWarm), warmAction.Origin, warmAction.Destination)
	}
	for _, id := range old {
		if a := e.action(id, "drain"); e.state(id) != StateTerminated || a.Ended.After(warmAction.Started) {
			t.Errorf("old member %s: got %s, its action ended %v; want Terminated, ended before the warm instance's began at %v", id, e.state(id), a.Ended, warmAction.Started)
		}
	}
	if warm := e.warmIDs("web"); len(warm) != 1 || warm[0] == oldWarm {
		t.Errorf("warm pool after the refresh: got %v, want one new instance", warm)
	}
	for _, in := range e.groupInstances("web") {
		if id := aws.ToString(in.InstanceId); slices.Contains(old, id) || id == oldWarm || in.LifecycleState != types.LifecycleStateInService {
			t.Errorf("member %s after the refresh: got %s, want a new InService instance", id, in.LifecycleState)
		}
	}
}
