package autoscaling

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// startRefresh starts a refresh of group with the given preferences and
// returns its ID.
func (e *env) startRefresh(group string, prefs *types.RefreshPreferences) string {
	e.t.Helper()
	out, err := e.client.StartInstanceRefresh(e.ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String(group), Preferences: prefs})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.InstanceRefreshId)
}

func (e *env) refreshStatus(group string) types.InstanceRefresh {
	e.t.Helper()
	out, err := e.client.DescribeInstanceRefreshes(e.ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(group)})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.InstanceRefreshes[0]
}

// count returns how many of the group's members are in each state.
func (e *env) count(group string) map[types.LifecycleState]int {
	e.t.Helper()
	out := map[types.LifecycleState]int{}
	for _, in := range e.groupInstances(group) {
		out[in.LifecycleState]++
	}
	return out
}

// With MaxHealthyPercentage above 100 an instance refresh launches the
// replacements first and terminates the old instances, through the terminate
// hooks (the drainer's path), only once the replacements are in service, so
// capacity never dips below desired; the batch is the room between the two
// percentages. Otherwise a rolling AMI update would skip the drain or
// lose capacity it was told to keep (hooks run for instance refresh:
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html;
// "Launch the new instances first before terminating the old ones":
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-overview.html).
func TestInstanceRefreshLaunchesBeforeTerminatingAboveMaxHealthy100(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		minHealthy, maxHealthy int32
		wantBatch              int
	}{
		{"100% to 110% replaces one at a time", 100, 110, 1},
		{"100% to 200% replaces all at once", 100, 200, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{BootTime: time.Minute})
			old := e.group("web", 3, Hook{Name: "drain"})
			e.clk.Advance(time.Minute)
			started := e.clk.Now()
			prefs := &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(tc.minHealthy), MaxHealthyPercentage: aws.Int32(tc.maxHealthy)}
			refreshID := e.startRefresh("web", prefs)

			var r types.InstanceRefresh
			for step := 0; step < 20; step++ {
				r = e.refreshStatus("web")
				if r.Status == types.InstanceRefreshStatusSuccessful {
					break
				}
				if r.Status != types.InstanceRefreshStatusInProgress {
					t.Fatalf("step %d: got status %s, want InProgress", step, r.Status)
				}
				inService, waiting := 0, 0
				for _, in := range e.groupInstances("web") {
					switch in.LifecycleState {
					case types.LifecycleStateInService:
						inService++
					case types.LifecycleStateTerminatingWait:
						waiting++
						// The drainer completes the hook by instance ID.
						if err := e.complete("web", "drain", aws.ToString(in.InstanceId), "", ResultContinue); err != nil {
							t.Fatal(err)
						}
					}
				}
				if inService < 3 || waiting > tc.wantBatch {
					t.Fatalf("step %d: got %d in service and %d waiting, want at least 3 and at most %d", step, inService, waiting, tc.wantBatch)
				}
				e.clk.Advance(time.Minute)
			}

			want := types.InstanceRefresh{
				AutoScalingGroupName: aws.String("web"),
				InstanceRefreshId:    aws.String(refreshID),
				Status:               types.InstanceRefreshStatusSuccessful,
				StartTime:            aws.Time(started),
				PercentageComplete:   aws.Int32(100),
				InstancesToUpdate:    aws.Int32(0),
				Preferences:          prefs,
				Strategy:             types.RefreshStrategyRolling,
			}
			opts := cmp.Options{
				cmpopts.IgnoreUnexported(types.InstanceRefresh{}, types.RefreshPreferences{}),
				cmpopts.IgnoreFields(types.InstanceRefresh{}, "EndTime"),
			}
			if diff := cmp.Diff(want, r, opts); diff != "" || r.EndTime == nil {
				t.Errorf("final refresh (-want +got):\n%s\nEndTime %v", diff, r.EndTime)
			}
			for _, id := range old {
				if a := e.action(id, "drain"); a.End != EndCompleted || e.state(id) != StateTerminated {
					t.Errorf("old instance %s: got %s with action %s, want Terminated through a completed action", id, e.state(id), a.End)
				}
			}
			now := e.groupInstances("web")
			if len(now) != 3 {
				t.Fatalf("instances after refresh: got %d, want 3", len(now))
			}
			for _, in := range now {
				if id := aws.ToString(in.InstanceId); in.LifecycleState != types.LifecycleStateInService || slices.Contains(old, id) {
					t.Errorf("instance %s after refresh: got %s, want a new InService instance", id, in.LifecycleState)
				}
			}
			events, _, _ := e.recorded()
			if len(events) != 3 {
				t.Errorf("lifecycle events: got %d, want 3, one per old instance", len(events))
			}
		})
	}
}

// Without an instance maintenance policy and with no MaxHealthyPercentage,
// an instance refresh terminates a batch and launches its replacements at
// the same time, the batch being what MinHealthyPercentage (default 90,
// rounded up) leaves, at least one; the next batch starts only once the
// replacements are in service, so in-service capacity never drops below the
// minimum but does dip, which is exactly the window a launch gate must
// cover. A refresh that always launched first would hide it.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/understand-instance-refresh-default-values.html
// (MinHealthyPercentage 90, MaxHealthyPercentage "100 percent (null)"),
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-maintenance-policy-overview-and-considerations.html
// ("Terminate and launch – New instances are provisioned at the same time
// your existing instances are terminated"; the default for instance refresh).
func TestInstanceRefreshTerminatesAndLaunchesByDefault(t *testing.T) {
	for _, tc := range []struct {
		name          string
		minHealthy    *int32
		wantMin       int32
		wantInService int // the fewest members InService while it runs
	}{
		{"default 90% of 4 replaces one at a time", nil, 90, 3},
		{"50% of 4 replaces two at a time", aws.Int32(50), 50, 2},
		{"0% of 4 replaces all at once", aws.Int32(0), 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{BootTime: time.Minute, ShutdownTime: ShutdownAtOnce})
			old := e.group("web", 4, Hook{Name: "drain"})
			e.clk.Advance(time.Minute)
			e.startRefresh("web", &types.RefreshPreferences{MinHealthyPercentage: tc.minHealthy})

			fewest := 4
			for step := 0; ; step++ {
				r := e.refreshStatus("web")
				if r.Status == types.InstanceRefreshStatusSuccessful {
					if diff := cmp.Diff(&types.RefreshPreferences{MinHealthyPercentage: aws.Int32(tc.wantMin)}, r.Preferences, cmpopts.IgnoreUnexported(types.RefreshPreferences{})); diff != "" {
						t.Errorf("preferences (-want +got):\n%s", diff)
					}
					break
				}
				if step == 20 {
					t.Fatalf("refresh still %s after %d steps", r.Status, step)
				}
				c := e.count("web")
				fewest = min(fewest, c[types.LifecycleStateInService])
				if c[types.LifecycleStateInService]+c[types.LifecycleStateTerminatingWait]+c[types.LifecycleStatePending] > 4+4-tc.wantInService {
					t.Fatalf("step %d: members %v, want no more than desired plus the batch", step, c)
				}
				for _, a := range e.srv.Actions() {
					if a.Active {
						e.completeAll("web", "drain", a.InstanceID)
					}
				}
				e.advance(time.Minute)
			}
			if fewest != tc.wantInService {
				t.Errorf("fewest members InService during the refresh: got %d, want %d", fewest, tc.wantInService)
			}
			for _, id := range old {
				if e.state(id) != StateTerminated {
					t.Errorf("old instance %s: got %s, want Terminated", id, e.state(id))
				}
			}
		})
	}
}

// The next batch must wait for the replacements' launch hooks and then for
// the instance warm-up, which starts only when the hooks are done; otherwise
// a launch hook that holds an instance until ECS can use it (the launch
// gate) would not slow the refresh, and the refresh would drain the next
// batch into a cluster with no room.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh.html ("If you added
// a lifecycle hook to the Auto Scaling group, the warm-up period does not
// start until the lifecycle hook actions are complete and the instance
// enters the InService state"),
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html (InstanceWarmup,
// else DefaultInstanceWarmup), and
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html (a launch
// hook's DefaultResult: CONTINUE puts the instance in service, ABANDON
// terminates it).
func TestInstanceRefreshWaitsForLaunchHooksThenWarmup(t *testing.T) {
	const warmup = 300 * time.Second
	for _, tc := range []struct {
		name string
		// prefs' InstanceWarmup, or the group's DefaultInstanceWarmup when
		// nil.
		prefs *types.RefreshPreferences
		// end ends the first replacement's launch action and returns when
		// it was in service; replaced reports that the instance was
		// abandoned and another launched.
		end      func(e *env, id string) (inService time.Time, replaced bool)
		wantPref *types.RefreshPreferences
	}{
		{
			name:     "completed CONTINUE, InstanceWarmup",
			prefs:    &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), InstanceWarmup: aws.Int32(300)},
			wantPref: &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), InstanceWarmup: aws.Int32(300)},
			end: func(e *env, id string) (time.Time, bool) {
				e.advance(9 * time.Minute) // within the hook's heartbeat timeout
				if err := e.complete("web", "gate", id, "", ResultContinue); err != nil {
					e.t.Fatal(err)
				}
				return e.clk.Now(), false
			},
		},
		{
			name:     "timed out with DefaultResult CONTINUE, DefaultInstanceWarmup",
			prefs:    &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(50)},
			wantPref: &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(50)},
			end: func(e *env, id string) (time.Time, bool) {
				e.advance(600 * time.Second) // the hook's heartbeat timeout
				return e.action(id, "gate").Ended, false
			},
		},
		{
			name:     "completed ABANDON, replaced, then completed CONTINUE",
			prefs:    &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), InstanceWarmup: aws.Int32(300)},
			wantPref: &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), InstanceWarmup: aws.Int32(300)},
			end: func(e *env, id string) (time.Time, bool) {
				if err := e.complete("web", "gate", id, "", ResultAbandon); err != nil {
					e.t.Fatal(err)
				}
				e.advance(time.Minute) // the next replacement boots
				var again string
				for _, a := range e.srv.Actions() {
					if a.Active && a.Hook == "gate" {
						again = a.InstanceID
					}
				}
				if again == "" || again == id {
					e.t.Fatalf("after ABANDON: no new instance waits on the launch hook")
				}
				if err := e.complete("web", "gate", again, "", ResultContinue); err != nil {
					e.t.Fatal(err)
				}
				return e.clk.Now(), true
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{BootTime: time.Minute, ShutdownTime: ShutdownAtOnce})
			old := e.group("web", 2,
				Hook{Name: "drain"},
				Hook{Name: "gate", Transition: TransitionLaunching, HeartbeatTimeout: 600, DefaultResult: ResultContinue})
			if err := e.srv.SetDefaultInstanceWarmup("web", warmup); err != nil {
				t.Fatal(err)
			}
			e.advance(time.Hour)
			e.startRefresh("web", tc.prefs)
			if got := e.states(old...); got[old[0]] != StateTerminatingWait || got[old[1]] != StateInService {
				t.Fatalf("first batch: got %v, want %s terminating and %s in service", got, old[0], old[1])
			}
			e.completeAll("web", "drain", old[0])
			e.advance(time.Minute) // the replacement boots into Pending:Wait
			var first string
			for _, a := range e.srv.Actions() {
				if a.Active && a.Hook == "gate" {
					first = a.InstanceID
				}
			}
			if first == "" || e.state(first) != StatePendingWait {
				t.Fatalf("replacement: got %q, want one in Pending:Wait on the launch hook", first)
			}

			inService, _ := tc.end(e, first)
			if got := e.state(old[1]); got != StateInService {
				t.Fatalf("replacement just in service: second old instance %s, want it still InService until the warm-up ends", got)
			}
			e.advance(inService.Add(warmup - time.Second).Sub(e.clk.Now()))
			if got := e.state(old[1]); got != StateInService {
				t.Fatalf("1s before the warm-up ends: second old instance %s, want InService", got)
			}
			e.advance(time.Second)
			if got := e.state(old[1]); got != StateTerminatingWait {
				t.Fatalf("when the warm-up ends: second old instance %s, want %s", got, StateTerminatingWait)
			}
			if a := e.action(old[1], "drain"); !a.Started.Equal(inService.Add(warmup)) {
				t.Errorf("second batch's terminate action started at %v, want the warm-up's end %v", a.Started, inService.Add(warmup))
			}
			if diff := cmp.Diff(tc.wantPref, e.refreshStatus("web").Preferences, cmpopts.IgnoreUnexported(types.RefreshPreferences{})); diff != "" {
				t.Errorf("preferences (-want +got):\n%s", diff)
			}
		})
	}
}

// An instance maintenance policy gives a refresh its percentages when the
// refresh does not, and the percentages are checked as documented, or a
// construct's policy would be ignored and an impossible one accepted.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_InstanceMaintenancePolicy.html
// (ranges, "the difference between them cannot be greater than 100"),
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/understand-instance-refresh-default-values.html
// ("Varies based on your instance maintenance policy").
func TestInstanceRefreshPreferencesAndMaintenancePolicy(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 2)
	e.advance(time.Hour)
	for _, tc := range []struct {
		name  string
		prefs *types.RefreshPreferences
	}{
		{"MinHealthyPercentage above 100", &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(101)}},
		{"MaxHealthyPercentage below 100", &types.RefreshPreferences{MaxHealthyPercentage: aws.Int32(99)}},
		{"MaxHealthyPercentage above 200", &types.RefreshPreferences{MaxHealthyPercentage: aws.Int32(201)}},
		{"more than 100 apart", &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(0), MaxHealthyPercentage: aws.Int32(150)}},
		{"50% to 200%", &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), MaxHealthyPercentage: aws.Int32(200)}},
		{"200% above the default 90%", &types.RefreshPreferences{MaxHealthyPercentage: aws.Int32(200)}},
		{"a negative warm-up", &types.RefreshPreferences{InstanceWarmup: aws.Int32(-1)}},
	} {
		_, err := e.client.StartInstanceRefresh(e.ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"), Preferences: tc.prefs})
		if code, _ := apiError(t, err); code != "ValidationError" {
			t.Errorf("%s: got %s, want ValidationError", tc.name, code)
		}
	}
	for _, bad := range [][2]int32{{-2, 110}, {100, 99}, {0, 150}} {
		if err := e.srv.SetInstanceMaintenancePolicy("web", bad[0], bad[1]); err == nil {
			t.Errorf("SetInstanceMaintenancePolicy(%d, %d): got no error", bad[0], bad[1])
		}
	}

	if err := e.srv.SetInstanceMaintenancePolicy("web", 100, 150); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetDefaultInstanceWarmup("web", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	g := e.describeGroup("web")
	if p := g.InstanceMaintenancePolicy; p == nil || aws.ToInt32(p.MinHealthyPercentage) != 100 || aws.ToInt32(p.MaxHealthyPercentage) != 150 || aws.ToInt32(g.DefaultInstanceWarmup) != 30 {
		t.Errorf("DescribeAutoScalingGroups: policy %+v, DefaultInstanceWarmup %v; want 100/150 and 30", p, g.DefaultInstanceWarmup)
	}
	e.startRefresh("web", nil)
	want := &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(100), MaxHealthyPercentage: aws.Int32(150)}
	if diff := cmp.Diff(want, e.refreshStatus("web").Preferences, cmpopts.IgnoreUnexported(types.RefreshPreferences{})); diff != "" {
		t.Errorf("preferences from the policy (-want +got):\n%s", diff)
	}
	// 150% of 2 leaves room for one more: it launches first, and both old
	// ones stay in service through its 30 s warm-up.
	if c := e.count("web"); c[types.LifecycleStateInService] != 3 || len(e.groupInstances("web")) != 3 {
		t.Errorf("right after a refresh under a 100%%–150%% policy: members %v, want the two old ones and a new one InService", c)
	}
}
