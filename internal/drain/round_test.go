package drain

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// batchFake answers every instance it is asked about: each one DRAINING in
// Terminating:Wait, and records the size of each call.
type batchFake struct {
	fakeAWS
	ciCalls, asgCalls, listCalls []int
}

func (f *batchFake) DescribeContainerInstances(_ context.Context, in *ecs.DescribeContainerInstancesInput, _ ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error) {
	f.record("DescribeContainerInstances")
	f.ciCalls = append(f.ciCalls, len(in.ContainerInstances))
	out := &ecs.DescribeContainerInstancesOutput{}
	for _, arn := range in.ContainerInstances {
		var n int
		fmt.Sscanf(arn[len(arn)-8:], "%08x", &n)
		ci := ecstypes.ContainerInstance{ContainerInstanceArn: aws.String(arn), Ec2InstanceId: aws.String(batchInstance(n)), Status: aws.String("DRAINING")}
		if f.chain != "" {
			ci.Attributes = []ecstypes.Attribute{{Name: aws.String(ChainAttribute), Value: aws.String(f.chain)}}
		}
		out.ContainerInstances = append(out.ContainerInstances, ci)
	}
	return out, nil
}

func (f *batchFake) DescribeAutoScalingInstances(_ context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	f.record("DescribeAutoScalingInstances")
	f.asgCalls = append(f.asgCalls, len(in.InstanceIds))
	out := &autoscaling.DescribeAutoScalingInstancesOutput{}
	for _, id := range in.InstanceIds {
		out.AutoScalingInstances = append(out.AutoScalingInstances, astypes.AutoScalingInstanceDetails{InstanceId: aws.String(id), AutoScalingGroupName: aws.String("asg"), LifecycleState: aws.String("Terminating:Wait")})
	}
	return out, nil
}

func batchInstance(i int) string { return fmt.Sprintf("i-%017x", i) }

func batchStates(n int) []State {
	var states []State
	for i := range n {
		s := testState()
		s.InstanceID, s.Attempt = batchInstance(i), 2
		s.ContainerInstanceARN = fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:container-instance/c1/%032x", i)
		states = append(states, s)
	}
	return states
}

// The hops of N drains of one cluster in one invocation must cost
// ceil(N/100) DescribeContainerInstances and ceil(N/50)
// DescribeAutoScalingInstances calls, not N of each, or a thousand drains
// at once throttle ECS's shared buckets.
func TestPrefetchSharesTheBatchsDescribeCalls(t *testing.T) {
	for _, tt := range []struct{ n, ci, asg int }{{1, 1, 1}, {10, 1, 1}, {100, 1, 2}, {101, 2, 3}, {250, 3, 5}, {1000, 10, 20}} {
		t.Run(fmt.Sprintf("%d drains", tt.n), func(t *testing.T) {
			f := &batchFake{}
			d := NewWithClients(f, f, f, "q", testPolicy, func() time.Time { return t0 })
			p := d.Prefetch(context.Background(), Batch{Hops: batchStates(tt.n)})
			if len(f.ciCalls) != tt.ci || len(f.asgCalls) != tt.asg {
				t.Errorf("%d drains: %d DescribeContainerInstances (sizes %v), %d DescribeAutoScalingInstances (sizes %v); want %d and %d",
					tt.n, len(f.ciCalls), f.ciCalls, len(f.asgCalls), f.asgCalls, tt.ci, tt.asg)
			}
			for _, c := range f.ciCalls {
				if c > 100 {
					t.Errorf("a DescribeContainerInstances call with %d instances, ECS allows 100", c)
				}
			}
			for _, s := range batchStates(tt.n) {
				var o Observation
				p.observe(s, &o)
				if o.Action != ActionPending || o.Instance == nil || o.Instance.Status != StatusDraining {
					t.Fatalf("drain of %s: observed action %v, instance %+v; want pending and DRAINING", s.InstanceID, o.Action, o.Instance)
				}
			}
		})
	}
}

// A hop that starts from the batch's observations must not ask again what
// is known: it goes straight to counting the tasks.
func TestContinueMakesNoCallWhoseAnswerTheRoundKnows(t *testing.T) {
	f := &batchFake{}
	d := NewWithClients(f, f, f, "q", testPolicy, func() time.Time { return t0 })
	states := batchStates(3)
	p := d.Prefetch(context.Background(), Batch{Hops: states})
	f.calls = nil
	res, err := p.Continue(context.Background(), states[1], "r1")
	if err != nil || res.Outcome != OutcomeDrained {
		t.Fatalf("Continue: outcome %s, error %v; want drained", res.Outcome, err)
	}
	want := []string{"ListTasks:STOPPED", "CompleteLifecycleAction"}
	if fmt.Sprint(f.calls) != fmt.Sprint(want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
}

// Two hops of one drain in a batch (a fork) must each read the mark
// themselves, or both could go on with the same stale mark.
func TestPrefetchLeavesAForkedDrainToItsHops(t *testing.T) {
	f := &batchFake{}
	d := NewWithClients(f, f, f, "q", testPolicy, func() time.Time { return t0 })
	states := batchStates(2)
	states = append(states, states[0])
	p := d.Prefetch(context.Background(), Batch{Hops: states})
	var o Observation
	p.observe(states[0], &o)
	if o.Instance != nil || o.Action != ActionUnknown {
		t.Errorf("forked drain observed %+v, want nothing", o)
	}
}

// The ECS events of one batch must share their DescribeContainerInstances,
// 100 instances a call per cluster, each instance once; an event that itself
// shows tasks left needs no look at all; and Settle must then not describe
// the instance again.
func TestPrefetchSharesTheEventsDescribeCalls(t *testing.T) {
	f := &batchFake{}
	d := NewWithClients(f, f, f, "q", testPolicy, func() time.Time { return t0 })
	var evs []lifecycle.ECSEvent
	for i, s := range batchStates(150) {
		cluster := "c1"
		if i%3 == 0 {
			cluster = "c2"
		}
		e := lifecycle.ECSEvent{EventID: fmt.Sprint(i), ClusterARN: "arn:aws:ecs:us-east-1:123456789012:cluster/" + cluster, ContainerInstanceARN: s.ContainerInstanceARN, TasksReported: -1}
		evs = append(evs, e, e) // each instance named twice
	}
	evs = append(evs, lifecycle.ECSEvent{ClusterARN: "arn:aws:ecs:us-east-1:123456789012:cluster/c1", ContainerInstanceARN: "shows-tasks", TasksReported: 2})
	p := d.Prefetch(context.Background(), Batch{Events: evs})
	slices.Sort(f.ciCalls)
	if want := []int{50, 100}; !slices.Equal(f.ciCalls, want) {
		t.Errorf("DescribeContainerInstances sizes %v, want %v (c2's 50 and c1's 100)", f.ciCalls, want)
	}
	f.calls = nil
	res, err := p.Settle(context.Background(), evs[2], Scope{})
	if err != nil || res.Outcome != OutcomeNotDraining || len(f.calls) != 0 {
		t.Errorf("Settle after the prefetch: outcome %s, error %v, calls %v; want not_draining (the fake's instances carry no mark) with no call", res.Outcome, err, f.calls)
	}
}

// ListContainerInstances answers an "ec2InstanceId in [...]" filter with the
// ARNs batchStates gives those instances, and records each filter's size.
func (f *batchFake) ListContainerInstances(_ context.Context, in *ecs.ListContainerInstancesInput, _ ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error) {
	f.record("ListContainerInstances")
	ids := strings.Split(strings.TrimSuffix(strings.TrimPrefix(aws.ToString(in.Filter), "ec2InstanceId in ["), "]"), ", ")
	f.listCalls = append(f.listCalls, len(ids))
	out := &ecs.ListContainerInstancesOutput{}
	for _, id := range ids {
		var n int
		fmt.Sscanf(id, "i-%x", &n)
		out.ContainerInstanceArns = append(out.ContainerInstanceArns, fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:container-instance/c1/%032x", n))
	}
	return out, nil
}

// The first hops of N drains in one invocation must share their reads: one
// DescribeLifecycleHooks for the group, ceil(N/50) DescribeAutoScalingInstances
// and ListContainerInstances (by an "in" filter), ceil(N/100)
// DescribeContainerInstances; each first hop then starts at its first write.
func TestPrefetchSharesTheFirstHopsReads(t *testing.T) {
	f := &batchFake{fakeAWS: fakeAWS{hookTimeout: 300}}
	d := NewWithClients(f, f, f, "q", testPolicy, func() time.Time { return t0 })
	var starts []Start
	for _, s := range batchStates(120) {
		a := testAction()
		a.InstanceID = s.InstanceID
		starts = append(starts, Start{Action: a, Meta: lifecycle.HookMetadata{Cluster: "c1"}})
	}
	p := d.Prefetch(context.Background(), Batch{Starts: starts})
	calls := map[string]int{}
	for _, c := range f.calls {
		calls[c]++
	}
	want := map[string]int{"DescribeLifecycleHooks": 1, "DescribeAutoScalingInstances": 3, "ListContainerInstances": 3, "DescribeContainerInstances": 2}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("prefetch calls (-want +got):\n%s", diff)
	}
	f.calls = nil
	res, err := p.Start(context.Background(), starts[7].Action, starts[7].Meta, "r1")
	if err != nil || res.Outcome != OutcomeDrained || res.State.HeartbeatTimeoutSeconds != 300 || res.State.ContainerInstanceARN == "" {
		t.Fatalf("Start: %+v, %v; want drained with the hook's timeout and the instance's ARN", res, err)
	}
	if want := []string{"ListTasks:STOPPED", "CompleteLifecycleAction"}; !slices.Equal(f.calls, want) {
		t.Errorf("first hop calls %v, want %v", f.calls, want)
	}
}

// ECS events about marked, quiet DRAINING instances (their drain may be
// over) must share their DescribeAutoScalingInstances too, 50 a call, and
// Settle then goes straight to the one listing it needs.
func TestPrefetchAsksAutoScalingOnceForTheEventsThatMayEndADrain(t *testing.T) {
	f := &batchFake{fakeAWS: fakeAWS{chain: Chain{Start: t0, Due: t0, MessageID: "m1", Token: "tok", Hook: "hook"}.String()}}
	d := NewWithClients(f, f, f, "q", testPolicy, func() time.Time { return t0 })
	var evs []lifecycle.ECSEvent
	for i, s := range batchStates(60) {
		evs = append(evs, lifecycle.ECSEvent{EventID: fmt.Sprint(i), ClusterARN: "arn:aws:ecs:us-east-1:123456789012:cluster/c1", ContainerInstanceARN: s.ContainerInstanceARN, TasksReported: -1})
	}
	p := d.Prefetch(context.Background(), Batch{Events: evs})
	slices.Sort(f.asgCalls)
	if want := []int{10, 50}; !slices.Equal(f.asgCalls, want) {
		t.Errorf("DescribeAutoScalingInstances sizes %v, want %v", f.asgCalls, want)
	}
	f.calls = nil
	res, err := p.Settle(context.Background(), evs[7], Scope{ASGs: []string{"asg"}})
	if err != nil || res.Outcome != OutcomeDrained {
		t.Fatalf("Settle: %+v, %v; want drained", res, err)
	}
	if want := []string{"ListTasks:STOPPED", "CompleteLifecycleAction"}; !slices.Equal(f.calls, want) {
		t.Errorf("Settle's calls %v, want %v", f.calls, want)
	}
}
