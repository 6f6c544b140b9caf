package drain

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// With 51 groups or more, a sweep that sent 100 names without raising
// MaxRecords failed every time: AWS takes 50 by default.
func TestTheSweepDescribesAHundredGroupsACall(t *testing.T) {
	var groups []string
	for i := range 120 {
		groups = append(groups, fmt.Sprintf("asg-%03d", i))
	}
	f := &fakeAWS{}
	if _, err := newTestDrainer(f, t0).Lost(context.Background(), Scope{ASGs: groups}); err != nil {
		t.Fatalf("Lost over 120 groups: %v", err)
	}
	if n := strings.Count(strings.Join(f.calls, ","), "DescribeAutoScalingGroups"); n != 2 {
		t.Errorf("%d DescribeAutoScalingGroups calls for 120 groups, want 2", n)
	}
}

// One group the sweep cannot read must not stop the sweep of the others: it
// is reported, and the others' lost drains are still found.
func TestASweepErrorOnOneGroupDoesNotStopTheOthers(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, failGroup: "asg-b"}
	sw, err := newTestDrainer(f, t0).Lost(context.Background(), Scope{ASGs: []string{"asg-a", "asg-b", "asg-c"}})
	lost := sw.Lost
	if err == nil || !strings.Contains(err.Error(), "asg-b") {
		t.Errorf("error %v, want one naming asg-b", err)
	}
	var found []string
	for _, p := range lost {
		found = append(found, p.Action.GroupName)
	}
	if strings.Join(found, ",") != "asg-a,asg-c" {
		t.Errorf("lost drains in groups %v, want asg-a and asg-c", found)
	}
}

// The sweep restarts only what is lost. Each row is an instance waiting in
// Terminating:Wait (or in the warm pool) with its container instance as
// described; the hook is the drainer's unless the scope names others.
func TestTheSweepRestartsOnlyWhatIsLost(t *testing.T) {
	live := Chain{Start: t0, Due: t0.Add(30 * time.Second), MessageID: "c1", By: "c0", Token: "tok", Hook: "hook"}.String()
	overdue := Chain{Start: t0, Due: t0.Add(-10 * time.Minute), MessageID: "c1", By: "c0", Token: "tok", Hook: "hook"}.String()
	ended := &smithy.GenericAPIError{Code: "ValidationError", Message: "No active Lifecycle Action found with instance ID " + testInstance}
	warm := []astypes.Instance{{InstanceId: aws.String("i-0fedcba9876543210"), LifecycleState: astypes.LifecycleStateWarmedStopped},
		{InstanceId: aws.String(testInstance), LifecycleState: astypes.LifecycleStateWarmedTerminatingWait}}
	tests := []struct {
		name  string
		f     *fakeAWS
		scope Scope
		want  int
	}{
		{"no chain mark, not draining: lost", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "ACTIVE"}, Scope{}, 1},
		{"a live chain", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", chain: live}, Scope{}, 0},
		{"an overdue chain: lost", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", chain: overdue}, Scope{}, 1},
		{"the drainer's action ended, another hook holds the instance", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", chain: overdue,
			errs: map[string]error{"RecordLifecycleActionHeartbeat": ended}}, Scope{}, 0},
		{"at the attribute limit, no mark can tell: left to its polling chain", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", customAttrs: 10}, Scope{}, 0},
		{"a hook outside DRAINER_HOOKS", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "ACTIVE"}, Scope{Hooks: []string{"ecs-drainer"}}, 0},
		{"a warm pool instance terminating: found through DescribeWarmPool", &fakeAWS{lifecycleState: "Warmed:Terminating:Wait", hookTimeout: 300, warm: warm}, Scope{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.scope.ASGs = []string{"asg"}
			sw, err := newTestDrainer(tt.f, t0.Add(time.Minute)).Lost(context.Background(), tt.scope)
			if lost := sw.Lost; err != nil || len(lost) != tt.want {
				t.Fatalf("Lost = %d drains, error %v; want %d", len(lost), err, tt.want)
			}
		})
	}
}

// The sweep's gauges count every instance waiting on the drainer's terminate
// hook, live chain or lost, with the oldest drain's age from its mark and the
// stuck drains by the reason their mark names; a launch is not a drain.
func TestTheSweepGaugesTheDrainsInFlight(t *testing.T) {
	blocked := Chain{Start: t0, Due: t0.Add(90 * time.Second), MessageID: "c1", By: "c0", Token: "tok", Hook: "hook", Blocked: "no_capacity"}.String()
	tests := []struct {
		name  string
		f     *fakeAWS
		scope Scope
		want  []Gauge
	}{
		{"a live, blocked drain", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", chain: blocked}, Scope{},
			[]Gauge{{Cluster: "c1", Group: "asg", InFlight: 1, Oldest: time.Minute, Stuck: map[string]int{"no_capacity": 1}}}},
		{"an unmarked drain: in flight, its age unknown", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "ACTIVE"}, Scope{},
			[]Gauge{{Cluster: "c1", Group: "asg", InFlight: 1, Stuck: map[string]int{}}}},
		{"a hook outside DRAINER_HOOKS", &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "ACTIVE"}, Scope{Hooks: []string{"ecs-drainer"}}, nil},
		{"a launch", &fakeAWS{lifecycleState: "Pending:Wait", hookTimeout: 600, hookTransition: lifecycle.TransitionLaunch, launchedAt: t0}, Scope{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.scope.ASGs = []string{"asg"}
			sw, err := newTestDrainer(tt.f, t0.Add(time.Minute)).Lost(context.Background(), tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, sw.Gauges); diff != "" {
				t.Errorf("gauges (-want +got):\n%s", diff)
			}
		})
	}
}

// A restart waits RestartGrace on the queue: an action the sweep met before
// its own first hop ran gets that long for its chain to mark the instance,
// and the restart's hop then finds the mark and ends.
func TestARestartWaitsItsGrace(t *testing.T) {
	f := &fakeAWS{}
	p := Pending{Action: testAction(), Meta: lifecycle.HookMetadata{Cluster: "c1"}}
	if err := newTestDrainer(f, t0).Restart(context.Background(), p, "ecs-drainer-reconcile-1"); err != nil {
		t.Fatal(err)
	}
	if len(f.sent) != 1 || f.sent[0].DelaySeconds != int32(RestartGrace/time.Second) {
		t.Fatalf("sent %d messages, delay %d s; want one, delayed %v", len(f.sent), f.sent[0].DelaySeconds, RestartGrace)
	}
}

// A launch chain has no mark, so the sweep goes by how long the launch has
// waited, read from its scaling activity: past SweepAfter it gets a sweep hop
// whose deadline counts from the launch's start. Without it, a lost chain of
// an instance that never joins lets the hook's heartbeat lapse into
// CONTINUE, and a host ECS cannot use stays in service.
func TestTheSweepLooksAtLaunchesThatWaitedLong(t *testing.T) {
	now := t0.Add(time.Hour)
	launch := func(launchedAt time.Time) *fakeAWS {
		return &fakeAWS{lifecycleState: "Pending:Wait", hookTimeout: 600, hookTransition: lifecycle.TransitionLaunch, launchedAt: launchedAt}
	}
	tests := []struct {
		name      string
		f         *fakeAWS
		want      int
		wantStart time.Time
	}{
		{"waited under a quarter of the heartbeat timeout: its chain is trusted", launch(now.Add(-2 * time.Minute)), 0, time.Time{}},
		{"waited longer: swept, with the launch's start", launch(now.Add(-3 * time.Minute)), 1, now.Add(-3 * time.Minute)},
		{"no activity among the newest: swept as having waited a heartbeat timeout", launch(time.Time{}), 1, now.Add(-10 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw, err := newTestDrainer(tt.f, now).Lost(context.Background(), Scope{ASGs: []string{"asg"}})
			lost := sw.Lost
			if err != nil || len(lost) != tt.want {
				t.Fatalf("Lost = %+v, %v; want %d", lost, err, tt.want)
			}
			if tt.want == 1 && (!lost[0].Action.Launch() || !lost[0].Action.Time.Equal(tt.wantStart)) {
				t.Errorf("swept %+v, want a launch starting %v", lost[0].Action, tt.wantStart)
			}
		})
	}
}
