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

// An instance refresh must replace every instance, each old one leaving
// through the terminate hooks (the drainer's path), in batches sized by
// MinHealthyPercentage and without capacity dipping below desired; otherwise
// a rolling AMI update would skip the drain (hooks run for instance refresh:
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html).
func TestInstanceRefreshReplacesEveryInstanceThroughHooks(t *testing.T) {
	for _, tc := range []struct {
		name       string
		minHealthy *int32
		wantBatch  int
	}{
		{"default 90% healthy replaces one at a time", nil, 1},
		{"0% healthy replaces all at once", aws.Int32(0), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{BootTime: time.Minute})
			old := e.group("web", 3, Hook{Name: "drain"})
			e.clk.Advance(time.Minute)
			started := e.clk.Now()
			out, err := e.client.StartInstanceRefresh(e.ctx, &autoscaling.StartInstanceRefreshInput{
				AutoScalingGroupName: aws.String("web"),
				Preferences:          &types.RefreshPreferences{MinHealthyPercentage: tc.minHealthy},
			})
			if err != nil {
				t.Fatal(err)
			}
			refreshID := aws.ToString(out.InstanceRefreshId)

			var r types.InstanceRefresh
			for step := 0; step < 20; step++ {
				desc, err := e.client.DescribeInstanceRefreshes(e.ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
				if err != nil {
					t.Fatal(err)
				}
				r = desc.InstanceRefreshes[0]
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
				Preferences:          &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(aws.ToInt32(tc.minHealthy))},
				Strategy:             types.RefreshStrategyRolling,
			}
			if tc.minHealthy == nil {
				want.Preferences.MinHealthyPercentage = aws.Int32(defaultMinHealthy)
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
