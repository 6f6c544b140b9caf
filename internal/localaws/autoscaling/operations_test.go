package autoscaling

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// DescribeLifecycleHooks must return every hook field the SDK models,
// GlobalTimeout included, computed as min(48 h, 100 × HeartbeatTimeout),
// because the drainer sizes its re-queue budget from it (GlobalTimeout in
// the botocore autoscaling model).
func TestDescribeLifecycleHooksReturnsGlobalTimeout(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1)
	for _, h := range []*autoscaling.PutLifecycleHookInput{
		{LifecycleHookName: aws.String("short"), HeartbeatTimeout: aws.Int32(30), DefaultResult: aws.String("CONTINUE"), NotificationMetadata: aws.String("m")},
		{LifecycleHookName: aws.String("medium"), HeartbeatTimeout: aws.Int32(900)},
		{LifecycleHookName: aws.String("defaults")},
	} {
		h.AutoScalingGroupName = aws.String("web")
		h.LifecycleTransition = aws.String(TransitionTerminating)
		if _, err := e.client.PutLifecycleHook(e.ctx, h); err != nil {
			t.Fatalf("PutLifecycleHook(%s): %v", aws.ToString(h.LifecycleHookName), err)
		}
	}
	hook := func(name string, hb, global int32, def, metadata string) types.LifecycleHook {
		h := types.LifecycleHook{
			AutoScalingGroupName: aws.String("web"),
			LifecycleHookName:    aws.String(name),
			LifecycleTransition:  aws.String(TransitionTerminating),
			HeartbeatTimeout:     aws.Int32(hb),
			GlobalTimeout:        aws.Int32(global),
			DefaultResult:        aws.String(def),
		}
		if metadata != "" {
			h.NotificationMetadata = aws.String(metadata)
		}
		return h
	}
	for _, tc := range []struct {
		name  string
		names []string
		want  []types.LifecycleHook
	}{
		{"all hooks, in creation order", nil, []types.LifecycleHook{
			hook("short", 30, 3000, "CONTINUE", "m"),
			hook("medium", 900, 90000, "ABANDON", ""),
			hook("defaults", 3600, 172800, "ABANDON", ""),
		}},
		{"named hooks only, unknown names absent", []string{"defaults", "nope"}, []types.LifecycleHook{
			hook("defaults", 3600, 172800, "ABANDON", ""),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.client.DescribeLifecycleHooks(e.ctx, &autoscaling.DescribeLifecycleHooksInput{
				AutoScalingGroupName: aws.String("web"), LifecycleHookNames: tc.names,
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.LifecycleHooks, cmpopts.IgnoreUnexported(types.LifecycleHook{})); diff != "" {
				t.Errorf("DescribeLifecycleHooks(%v) (-want +got):\n%s", tc.names, diff)
			}
		})
	}
}

// PutLifecycleHook on an existing hook must change only the parameters
// given, as AWS does, or updating a timeout would silently drop metadata.
func TestPutLifecycleHookUpdatesOnlyGivenParameters(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1, Hook{Name: "drain", NotificationMetadata: "keep", DefaultResult: ResultContinue})
	if _, err := e.client.PutLifecycleHook(e.ctx, &autoscaling.PutLifecycleHookInput{
		AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("drain"), HeartbeatTimeout: aws.Int32(120),
	}); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeLifecycleHooks(e.ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	h := out.LifecycleHooks[0]
	got := []string{aws.ToString(h.NotificationMetadata), aws.ToString(h.DefaultResult), aws.ToString(h.LifecycleTransition)}
	if want := []string{"keep", ResultContinue, TransitionTerminating}; !cmp.Equal(got, want) || aws.ToInt32(h.HeartbeatTimeout) != 120 {
		t.Errorf("after update: got %v with timeout %d, want %v with timeout 120", got, aws.ToInt32(h.HeartbeatTimeout), want)
	}
}

// DescribeAutoScalingInstances must show an instance in Terminating:Wait
// while its hook holds it and forget it once Terminated, because the
// drainer treats "absent" as "already gone" (LifecycleState in the botocore
// autoscaling model).
func TestDescribeAutoScalingInstancesFollowsTermination(t *testing.T) {
	e := newEnv(t, Options{ShutdownTime: time.Minute})
	id := e.group("web", 1, Hook{Name: "drain"})[0]
	steps := []struct {
		name string
		act  func()
		want string
	}{
		{"in service", func() {}, StateInService},
		{"scale in holds it in the hook", func() { e.setDesired("web", 0) }, StateTerminatingWait},
		{"completion lets it proceed", func() {
			if err := e.complete("web", "drain", id, "", ResultContinue); err != nil {
				t.Fatal(err)
			}
		}, StateTerminatingProceed},
		{"after the shutdown time it is gone", func() { e.clk.Advance(time.Minute) }, ""},
	}
	for _, s := range steps {
		s.act()
		if got := e.states(id)[id]; got != s.want {
			t.Errorf("%s: got state %q, want %q", s.name, got, s.want)
		}
	}
	if got := e.state(id); got != StateTerminated {
		t.Errorf("control view after termination: got %s, want %s", got, StateTerminated)
	}
}

// DescribeAutoScalingInstances must page with MaxRecords ≤ 50 and
// NextToken, and list every instance exactly once across pages, otherwise
// the SDK paginator loops or misses instances.
func TestDescribeAutoScalingInstancesPages(t *testing.T) {
	e := newEnv(t, Options{})
	want := append(e.group("web", 3), e.group("api", 2)...)
	for _, tc := range []struct {
		name      string
		max       int32
		wantPages int
	}{
		{"two per page", 2, 3},
		{"five per page", 5, 1},
		{"the maximum of 50", 50, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			pages := 0
			p := autoscaling.NewDescribeAutoScalingInstancesPaginator(e.client, &autoscaling.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(tc.max)})
			for p.HasMorePages() {
				out, err := p.NextPage(e.ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, d := range out.AutoScalingInstances {
					got = append(got, aws.ToString(d.InstanceId))
				}
			}
			if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" || pages != tc.wantPages {
				t.Errorf("MaxRecords %d: got %d pages, want %d; instances (-want +got):\n%s", tc.max, pages, tc.wantPages, diff)
			}
		})
	}
	out, err := e.client.DescribeAutoScalingInstances(e.ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{want[0], "i-00000000000000000"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingInstances) != 1 || aws.ToString(out.AutoScalingInstances[0].InstanceId) != want[0] || aws.ToString(out.AutoScalingInstances[0].AutoScalingGroupName) != "web" {
		t.Errorf("known and unknown ID: got %+v, want only %s of group web", out.AutoScalingInstances, want[0])
	}
}

// An empty token bucket must answer Throttling / Rate exceeded, which the
// SDK retries (three attempts) before surfacing it, so the drainer's
// throttling path can be exercised (DefaultThrottleErrorCodes in
// aws-sdk-go-v2 aws/retry/standard.go).
func TestThrottlingIsRetriedThenSurfaced(t *testing.T) {
	var th awswire.Throttle
	th.Set("RecordLifecycleActionHeartbeat", awswire.Bucket{Burst: 1, Rate: 1})
	e := newEnv(t, Options{Throttle: &th})
	id := e.group("web", 1, Hook{Name: "drain"})[0]
	e.setDesired("web", 0)

	if err := e.heartbeat("web", "drain", id, ""); err != nil {
		t.Fatalf("first heartbeat takes the only token: %v", err)
	}
	err := e.heartbeat("web", "drain", id, "")
	if code, msg := apiError(t, err); code != "Throttling" || msg != "Rate exceeded" {
		t.Errorf("second heartbeat: got %s: %q, want Throttling: \"Rate exceeded\"", code, msg)
	}
	if got := e.srv.Calls()["RecordLifecycleActionHeartbeat"]; got != 4 {
		t.Errorf("heartbeat requests: got %d, want 4 (one, then three attempts)", got)
	}
	e.clk.Advance(time.Second)
	if err := e.heartbeat("web", "drain", id, ""); err != nil {
		t.Errorf("after the bucket refills: %v", err)
	}
}

// Requests that break the model's constraints must fail with the code AWS
// uses, before touching state, so the drainer's classification of errors
// can be tested against them (the botocore autoscaling model).
func TestValidationErrors(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.group("web", 1, Hook{Name: "drain"})[0]
	e.setDesired("web", 0)
	e.group("api", 1, Hook{Name: "drain"}) // its refresh stays in progress on the hook
	put := func(mod func(*autoscaling.PutLifecycleHookInput)) func(context.Context) error {
		return func(ctx context.Context) error {
			in := &autoscaling.PutLifecycleHookInput{
				AutoScalingGroupName: aws.String("web"),
				LifecycleHookName:    aws.String("new"),
				LifecycleTransition:  aws.String(TransitionTerminating),
			}
			mod(in)
			_, err := e.client.PutLifecycleHook(ctx, in)
			return err
		}
	}
	for _, tc := range []struct {
		name     string
		call     func(context.Context) error
		wantCode string
		wantMsg  string // a substring; empty when only the code is pinned
	}{
		{"a result other than CONTINUE or ABANDON", func(context.Context) error {
			return e.complete("web", "drain", id, "", "MAYBE")
		}, "ValidationError", "LifecycleActionResult"},
		{"a token shorter than 36 characters", func(context.Context) error {
			return e.complete("web", "drain", "", "abc", ResultContinue)
		}, "ValidationError", "1 validation error detected: Value 'abc' at 'lifecycleActionToken' failed to satisfy constraint: Member must have length greater than or equal to 36"},
		{"an instance ID longer than 19 characters", func(context.Context) error {
			return e.heartbeat("web", "drain", "i-0123456789abcdef0123", "")
		}, "ValidationError", "at 'instanceId' failed to satisfy constraint: Member must have length less than or equal to 19"},
		{"neither token nor instance ID", func(context.Context) error {
			return e.heartbeat("web", "drain", "", "")
		}, "ValidationError", ""},
		{"a hook name outside the pattern", put(func(in *autoscaling.PutLifecycleHookInput) { in.LifecycleHookName = aws.String("bad name") }),
			"ValidationError", "at 'lifecycleHookName' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"a heartbeat timeout under 30 s", put(func(in *autoscaling.PutLifecycleHookInput) { in.HeartbeatTimeout = aws.Int32(29) }), "ValidationError", ""},
		{"a heartbeat timeout over 7200 s", put(func(in *autoscaling.PutLifecycleHookInput) { in.HeartbeatTimeout = aws.Int32(7201) }), "ValidationError", ""},
		{"an unknown default result", put(func(in *autoscaling.PutLifecycleHookInput) { in.DefaultResult = aws.String("RETRY") }), "ValidationError", ""},
		{"an unknown transition", put(func(in *autoscaling.PutLifecycleHookInput) {
			in.LifecycleTransition = aws.String("autoscaling:EC2_INSTANCE_REBOOTING")
		}), "ValidationError", ""},
		{"metadata that is not printable ASCII", put(func(in *autoscaling.PutLifecycleHookInput) { in.NotificationMetadata = aws.String("café") }),
			"ValidationError", "at 'notificationMetadata'"},
		{"metadata over 4000 characters", put(func(in *autoscaling.PutLifecycleHookInput) {
			in.NotificationMetadata = aws.String(strings.Repeat("x", 4001))
		}),
			"ValidationError", "Member must have length less than or equal to 4000"},
		{"a new hook without a transition", put(func(in *autoscaling.PutLifecycleHookInput) { in.LifecycleTransition = nil }), "ValidationError", ""},
		{"a hook on an unknown group", put(func(in *autoscaling.PutLifecycleHookInput) { in.AutoScalingGroupName = aws.String("nope") }),
			"ValidationError", "AutoScalingGroup name not found"},
		{"describing the hooks of an unknown group", func(ctx context.Context) error {
			_, err := e.client.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("nope")})
			return err
		}, "ValidationError", "AutoScalingGroup name not found"},
		{"more than 50 hook names", func(ctx context.Context) error {
			_, err := e.client.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("web"), LifecycleHookNames: make([]string, 51)})
			return err
		}, "ValidationError", "at 'lifecycleHookNames'"},
		{"MaxRecords over 50 for instances", func(ctx context.Context) error {
			_, err := e.client.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(51)})
			return err
		}, "ValidationError", "Member must have value less than or equal to 50"},
		{"a made-up next token", func(ctx context.Context) error {
			_, err := e.client.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{NextToken: aws.String("!!")})
			return err
		}, "InvalidNextToken", ""},
		{"a desired capacity above the maximum", func(ctx context.Context) error {
			_, err := e.client.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(11)})
			return err
		}, "ValidationError", "New SetDesiredCapacity value 11 is above max value 10 for the AutoScalingGroup."},
		{"terminating an instance no group manages", func(ctx context.Context) error {
			_, err := e.client.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String("i-00000000000000000"), ShouldDecrementDesiredCapacity: aws.Bool(true)})
			return err
		}, "ValidationError", "Instance Id not found - No managed instance found for instance ID: i-00000000000000000"},
		{"a second refresh while one runs", func(ctx context.Context) error {
			for range 2 {
				if _, err := e.client.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("api")}); err != nil {
					return err
				}
			}
			return nil
		}, "InstanceRefreshInProgress", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(e.ctx)
			if err == nil {
				t.Fatalf("got success, want %s", tc.wantCode)
			}
			if code, msg := apiError(t, err); code != tc.wantCode || !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("got %s: %q, want %s containing %q", code, msg, tc.wantCode, tc.wantMsg)
			}
		})
	}
	if a := e.action(id, "drain"); !a.Active {
		t.Errorf("the rejected calls must leave the action active, got end %s", a.End)
	}
}

// A group takes at most 50 lifecycle hooks; the 51st must be LimitExceeded
// (PutLifecycleHook in the botocore autoscaling model).
func TestFiftyFirstHookIsLimitExceeded(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 0)
	for i := range 50 {
		if err := e.srv.PutLifecycleHook(Hook{Group: "web", Name: "h" + strings.Repeat("x", i), Transition: TransitionTerminating}); err != nil {
			t.Fatalf("hook %d: %v", i+1, err)
		}
	}
	_, err := e.client.PutLifecycleHook(e.ctx, &autoscaling.PutLifecycleHookInput{
		AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("one-too-many"), LifecycleTransition: aws.String(TransitionTerminating),
	})
	if code, _ := apiError(t, err); code != "LimitExceeded" {
		t.Errorf("51st hook: got %s, want LimitExceeded", code)
	}
}

// The wire format must follow awsQuery exactly: a Result element even when
// empty, the ErrorResponse envelope, and the model's message for a missing
// required parameter, which the SDK's own validation hides from the tests
// above (as aws-sdk-go-v2 service/autoscaling deserializers.go parses it).
func TestRawWireFormat(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.group("web", 1, Hook{Name: "drain"})[0]
	e.setDesired("web", 0)
	for _, tc := range []struct {
		name       string
		form       url.Values
		wantStatus int
		wantBody   []string
	}{
		{"a completed action answers an empty Result element",
			url.Values{"Action": {"CompleteLifecycleAction"}, "Version": {"2011-01-01"}, "AutoScalingGroupName": {"web"}, "LifecycleHookName": {"drain"}, "InstanceId": {id}, "LifecycleActionResult": {"CONTINUE"}},
			http.StatusOK, []string{`<CompleteLifecycleActionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><CompleteLifecycleActionResult/><ResponseMetadata><RequestId>`}},
		{"a missing required parameter",
			url.Values{"Action": {"CompleteLifecycleAction"}, "Version": {"2011-01-01"}, "AutoScalingGroupName": {"web"}, "LifecycleHookName": {"drain"}, "InstanceId": {id}},
			http.StatusBadRequest, []string{"<Type>Sender</Type><Code>ValidationError</Code><Message>1 validation error detected: Value null at &#39;lifecycleActionResult&#39; failed to satisfy constraint: Member must not be null</Message>"}},
		{"an unknown action",
			url.Values{"Action": {"DeleteAutoScalingGroup"}, "Version": {"2011-01-01"}},
			http.StatusBadRequest, []string{"<ErrorResponse", "<Code>InvalidAction</Code>", "</Error><RequestId>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.PostForm(e.url, tc.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			for _, w := range tc.wantBody {
				if !strings.Contains(string(body), w) {
					t.Errorf("body %s: want it to contain %s", body, w)
				}
			}
		})
	}
}

// TerminateInstanceInAutoScalingGroup must take the instance out through the
// hooks, and launch a replacement unless asked to decrement, as documented;
// OnLaunch and OnTerminate must fire so the harness keeps ECS in step.
func TestTerminateInstanceInAutoScalingGroup(t *testing.T) {
	for _, tc := range []struct {
		decrement       bool
		wantDesired     int32
		wantLaunchCount int
	}{
		{true, 1, 2},
		{false, 2, 3},
	} {
		t.Run("ShouldDecrementDesiredCapacity "+map[bool]string{true: "true", false: "false"}[tc.decrement], func(t *testing.T) {
			e := newEnv(t, Options{ShutdownTime: ShutdownAtOnce})
			ids := e.group("web", 2, Hook{Name: "drain"})
			out, err := e.client.TerminateInstanceInAutoScalingGroup(e.ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
				InstanceId: aws.String(ids[1]), ShouldDecrementDesiredCapacity: aws.Bool(tc.decrement),
			})
			if err != nil {
				t.Fatal(err)
			}
			if a := out.Activity; aws.ToString(a.AutoScalingGroupName) != "web" || a.StatusCode != types.ScalingActivityStatusCodeInProgress || !aws.ToTime(a.StartTime).Equal(start) {
				t.Errorf("activity: got %+v, want an InProgress activity of web started at %v", a, start)
			}
			if got := e.state(ids[1]); got != StateTerminatingWait {
				t.Errorf("state: got %s, want %s", got, StateTerminatingWait)
			}
			if err := e.complete("web", "drain", ids[1], "", ResultContinue); err != nil {
				t.Fatal(err)
			}

			groups, err := e.client.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
			if err != nil {
				t.Fatal(err)
			}
			g := groups.AutoScalingGroups[0]
			_, launched, terminated := e.recorded()
			if aws.ToInt32(g.DesiredCapacity) != tc.wantDesired || len(g.Instances) != int(tc.wantDesired) {
				t.Errorf("group: got desired %d with %d instances, want %d of each", aws.ToInt32(g.DesiredCapacity), len(g.Instances), tc.wantDesired)
			}
			if len(launched) != tc.wantLaunchCount || !cmp.Equal(terminated, []string{ids[1]}) {
				t.Errorf("callbacks: got OnLaunch %v and OnTerminate %v, want %d launches and [%s] terminated", launched, terminated, tc.wantLaunchCount, ids[1])
			}
			for _, in := range g.Instances {
				if in.LifecycleState != types.LifecycleStateInService || aws.ToString(in.HealthStatus) != "Healthy" {
					t.Errorf("instance %s: got %s/%s, want InService/Healthy", aws.ToString(in.InstanceId), in.LifecycleState, aws.ToString(in.HealthStatus))
				}
			}
		})
	}
}

// Scale in must pick by the documented simplification (largest zone, then
// oldest launch) and never an instance protected from scale in, so tests can
// predict which instance the drainer is asked about.
func TestScaleInPicksOldestUnprotectedInstance(t *testing.T) {
	e := newEnv(t, Options{BootTime: time.Minute, ShutdownTime: ShutdownAtOnce})
	first := e.group("web", 1)[0]
	e.clk.Advance(time.Hour)
	e.setDesired("web", 3)
	var later []string
	for _, in := range e.groupInstances("web") {
		if id := aws.ToString(in.InstanceId); id != first {
			later = append(later, id)
			if in.LifecycleState != types.LifecycleStatePending {
				t.Errorf("new instance %s: got %s, want Pending during boot", id, in.LifecycleState)
			}
		}
	}
	e.clk.Advance(time.Minute)
	if err := e.srv.SetProtected(first, true); err != nil {
		t.Fatal(err)
	}

	e.setDesired("web", 2)

	got := map[string]string{}
	for _, id := range append([]string{first}, later...) {
		got[id] = e.state(id)
	}
	want := map[string]string{first: StateInService, later[0]: StateTerminated, later[1]: StateInService}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("states after scale in (-want +got):\n%s", diff)
	}
}

// DescribeAutoScalingGroups must list the named groups, skip unknown names
// without an error, as AWS does, and page with NextToken.
func TestDescribeAutoScalingGroupsPages(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1)
	e.group("api", 2)
	for _, tc := range []struct {
		name      string
		names     []string
		max       int32
		want      []string
		wantPages int
	}{
		{"all groups one per page", nil, 1, []string{"api", "web"}, 2},
		{"named groups, unknown absent", []string{"web", "nope"}, 50, []string{"web"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			pages := 0
			p := autoscaling.NewDescribeAutoScalingGroupsPaginator(e.client, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: tc.names, MaxRecords: aws.Int32(tc.max)})
			for p.HasMorePages() {
				out, err := p.NextPage(e.ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, g := range out.AutoScalingGroups {
					got = append(got, aws.ToString(g.AutoScalingGroupName))
				}
			}
			if !cmp.Equal(got, tc.want) || pages != tc.wantPages {
				t.Errorf("names %v, MaxRecords %d: got %v in %d pages, want %v in %d", tc.names, tc.max, got, pages, tc.want, tc.wantPages)
			}
		})
	}
}

// DescribeAutoScalingGroups takes at most 50 names unless MaxRecords raises
// the limit, and DescribeAutoScalingInstances at most 50 IDs; more must be a
// ValidationError as AWS answers, or a caller that batches 100 names passes
// here and fails on AWS.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html ("By default, you can only specify up to 50 names. You can optionally increase this limit using the MaxRecords property")
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingInstances.html ("Array Members: Maximum number of 50 items")
func TestDescribeLimits(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1)
	names := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("group-%03d", i)
		}
		out[0] = "web"
		return out
	}
	ids := make([]string, 51)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-%017x", i)
	}
	groups := func(n int, max *int32) error {
		_, err := e.client.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: names(n), MaxRecords: max})
		return err
	}
	for _, tc := range []struct {
		name    string
		call    func() error
		wantMsg string // empty: success
	}{
		{"50 names", func() error { return groups(50, nil) }, ""},
		{"51 names", func() error { return groups(51, nil) }, "The number of group names that may be passed in is limited to 50"},
		{"100 names with MaxRecords 100", func() error { return groups(100, aws.Int32(100)) }, ""},
		{"101 names with MaxRecords 100", func() error { return groups(101, aws.Int32(100)) }, "The number of group names that may be passed in is limited to 100"},
		{"51 names with MaxRecords 10", func() error { return groups(51, aws.Int32(10)) }, "The number of group names that may be passed in is limited to 50"},
		{"50 instance IDs", func() error {
			_, err := e.client.DescribeAutoScalingInstances(e.ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: ids[:50]})
			return err
		}, ""},
		{"51 instance IDs", func() error {
			_, err := e.client.DescribeAutoScalingInstances(e.ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: ids})
			return err
		}, "1 validation error detected: Value '[" + strings.Join(ids, ", ") + "]' at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.wantMsg == "" {
				if err != nil {
					t.Errorf("got %v, want success", err)
				}
				return
			}
			if code, msg := apiError(t, err); code != "ValidationError" || msg != tc.wantMsg {
				t.Errorf("got %s: %q, want ValidationError: %q", code, msg, tc.wantMsg)
			}
		})
	}
}

// HealthStatus must be written as AWS writes each shape: HEALTHY in
// DescribeAutoScalingInstances, Healthy in DescribeAutoScalingGroups and
// DescribeWarmPool, or a client comparing it to AWS's spelling misreads
// every instance as unhealthy.
// https://docs.aws.amazon.com/cli/latest/reference/autoscaling/describe-auto-scaling-instances.html (example output: "HEALTHY")
// https://docs.aws.amazon.com/cli/latest/reference/autoscaling/describe-auto-scaling-groups.html (example output: "Healthy")
// https://docs.aws.amazon.com/cli/latest/reference/autoscaling/describe-warm-pool.html (example output: "Healthy")
func TestHealthStatusIsWrittenAsEachShapeWritesIt(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.group("web", 1)[0]
	if err := e.srv.PutWarmPool("web", WarmPool{MinSize: 1, MaxGroupPreparedCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	details, err := e.client.DescribeAutoScalingInstances(e.ctx, &autoscaling.DescribeAutoScalingInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range details.AutoScalingInstances {
		got["DescribeAutoScalingInstances "+aws.ToString(d.LifecycleState)] = aws.ToString(d.HealthStatus)
	}
	got["DescribeAutoScalingGroups"] = aws.ToString(e.groupInstances("web")[0].HealthStatus)
	got["DescribeWarmPool"] = aws.ToString(e.describeWarmPool("web").Instances[0].HealthStatus)
	want := map[string]string{
		"DescribeAutoScalingInstances " + StateInService:     "HEALTHY",
		"DescribeAutoScalingInstances " + StateWarmedPending: "HEALTHY",
		"DescribeAutoScalingGroups":                          "Healthy",
		"DescribeWarmPool":                                   "Healthy",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HealthStatus of %s and the warm instance (-want +got):\n%s", id, diff)
	}
	if v, _ := e.srv.Instance(id); v.HealthStatus != "Healthy" {
		t.Errorf("InstanceView.HealthStatus: got %q, want the Instance shape's Healthy", v.HealthStatus)
	}
}

// Every answer, success or error, must carry x-amzn-RequestId equal to the
// RequestId in its body: the SDK takes a successful call's request id from
// the header alone, and the drainer logs it as request_id.
// https://docs.aws.amazon.com/sdk-for-go/v2/developer-guide/handle-errors.html (retrieving AWS request identifiers)
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CompleteLifecycleAction.html (example response: ResponseMetadata RequestId)
func TestRequestIDHeaderMatchesTheBody(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1)
	bodyID := regexp.MustCompile(`<RequestId>([0-9a-f-]{36})</RequestId>`)
	for _, tc := range []struct {
		name       string
		form       url.Values
		wantStatus int
	}{
		{"a success", url.Values{"Action": {"DescribeAutoScalingGroups"}, "Version": {"2011-01-01"}}, http.StatusOK},
		{"an error", url.Values{"Action": {"DescribeWarmPool"}, "Version": {"2011-01-01"}, "AutoScalingGroupName": {"nope"}}, http.StatusBadRequest},
		{"an unknown action", url.Values{"Action": {"DeleteAutoScalingGroup"}, "Version": {"2011-01-01"}}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.PostForm(e.url, tc.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			m := bodyID.FindSubmatch(body)
			if resp.StatusCode != tc.wantStatus || m == nil {
				t.Fatalf("got status %d, body %s; want %d with a RequestId", resp.StatusCode, body, tc.wantStatus)
			}
			if got := resp.Header.Get("x-amzn-RequestId"); got != string(m[1]) {
				t.Errorf("x-amzn-RequestId: got %q, want the body's %q", got, m[1])
			}
		})
	}
	out, err := e.client.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || len(id) != 36 {
		t.Errorf("SDK ResultMetadata request id: got %q, %v; want a UUID", id, ok)
	}
}

// After its hooks an instance must stay in Terminating:Proceed while EC2
// shuts it down (a minute by default), its container instance still
// registered, and only then be Terminated; otherwise a drainer's check
// after CompleteLifecycleAction never meets the state AWS shows.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-lifecycle.html
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/TroubleshootingInstancesShuttingDown.html ("longer than a few minutes" is a delayed shutdown)
func TestTerminatingProceedLastsUntilEC2HasShutTheInstanceDown(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want time.Duration
	}{
		{"by default", Options{}, DefaultShutdownTime},
		{"as configured", Options{ShutdownTime: 5 * time.Minute}, 5 * time.Minute},
		{"at once when told", Options{ShutdownTime: ShutdownAtOnce}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.o)
			id := e.group("web", 1, Hook{Name: "drain"})[0]
			e.setDesired("web", 0)
			if err := e.complete("web", "drain", id, "", ResultContinue); err != nil {
				t.Fatal(err)
			}
			if tc.want > 0 {
				e.advance(tc.want - time.Second)
				if got := e.states(id)[id]; got != StateTerminatingProceed {
					t.Errorf("a second before the shutdown ends: got %q, want %s", got, StateTerminatingProceed)
				}
				if _, _, terminated := e.recorded(); len(terminated) != 0 {
					t.Errorf("OnTerminate before the shutdown ends: got %v, want none", terminated)
				}
				e.advance(time.Second)
			}
			if got := e.state(id); got != StateTerminated {
				t.Errorf("after the shutdown: got %s, want %s", got, StateTerminated)
			}
			if _, _, terminated := e.recorded(); !cmp.Equal(terminated, []string{id}) {
				t.Errorf("OnTerminate: got %v, want [%s]", terminated, id)
			}
		})
	}
}
