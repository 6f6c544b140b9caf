package autoscaling

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The API reference pages these tests pin:
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeScalingActivities.html
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Activity.html
// and the shape of real answers, from the CLI reference's
// describe-scaling-activities examples and
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/CHAP_Troubleshooting.html.

// activities reads scaling activities through the SDK, as the drainer does.
func (e *env) activities(in *autoscaling.DescribeScalingActivitiesInput) *autoscaling.DescribeScalingActivitiesOutput {
	e.t.Helper()
	out, err := e.client.DescribeScalingActivities(e.ctx, in)
	if err != nil {
		e.t.Fatalf("DescribeScalingActivities(%+v): %v", in, err)
	}
	return out
}

func (e *env) groupActivities(group string) []types.Activity {
	e.t.Helper()
	return e.activities(&autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(group)}).Activities
}

// at renders a time as a cause does.
func at(t time.Time) string { return t.UTC().Format(time.RFC3339) }

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// ignoreID leaves ActivityId out of a comparison; activityIDsAreUUIDs
// checks it.
var ignoreID = []cmp.Option{cmpopts.IgnoreFields(types.Activity{}, "ActivityId"), cmpopts.IgnoreUnexported(types.Activity{})}

// Every launch and termination must be listed with the members AWS fills
// (API_Activity; the CLI reference's examples): the description naming the
// instance, the cause naming the user request and the capacity change in
// AWS's words, StartTime when the launch began, EndTime once it ended (to
// the second), Progress, Details and the group's ARN; running activities
// first, then newest first, or the drainer reads a launch's start from the
// wrong activity.
func TestScalingActivitiesDescribeLaunchesAndTerminations(t *testing.T) {
	e := newEnv(t, Options{BootTime: time.Minute, ShutdownTime: time.Minute})
	arn, ids, err := e.srv.CreateGroup("web", 0, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	t0 := start
	e.advance(90 * time.Second)
	t1 := t0.Add(90 * time.Second)
	e.setDesired("web", 3)
	c := e.groupInstances("web")[2].InstanceId
	e.setDesired("web", 2) // takes out the oldest of three Availability Zones with one each: ids[0]

	activity := func(desc, cause, az string, started time.Time, ended *time.Time, status types.ScalingActivityStatusCode, progress int32) types.Activity {
		return types.Activity{
			AutoScalingGroupName: aws.String("web"),
			AutoScalingGroupARN:  aws.String(arn),
			Description:          aws.String(desc),
			Cause:                aws.String(cause),
			StartTime:            aws.Time(started),
			EndTime:              ended,
			StatusCode:           status,
			Progress:             aws.Int32(progress),
			Details:              aws.String(`{"Availability Zone":"us-east-1` + az + `"}`),
		}
	}
	created := fmt.Sprintf("At %s a user request created an AutoScalingGroup changing the desired capacity from 0 to 2.  "+
		"At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 2.", at(t0), at(t0))
	booted := aws.Time(t0.Add(time.Minute))
	want := []types.Activity{
		activity("Terminating EC2 instance: "+ids[0], fmt.Sprintf(
			"At %s a user request explicitly set group desired capacity changing the desired capacity from 3 to 2.  "+
				"At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from 3 to 2.  "+
				"At %s instance %s was selected for termination.", at(t1), at(t1), at(t1), ids[0]),
			"a", t1, nil, types.ScalingActivityStatusCodeInProgress, 0),
		activity("Launching a new EC2 instance: "+aws.ToString(c), fmt.Sprintf(
			"At %s a user request explicitly set group desired capacity changing the desired capacity from 2 to 3.  "+
				"At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 2 to 3.", at(t1), at(t1)),
			"c", t1, nil, types.ScalingActivityStatusCodePreInService, 30),
		activity("Launching a new EC2 instance: "+ids[1], created, "b", t0, booted, types.ScalingActivityStatusCodeSuccessful, 100),
		activity("Launching a new EC2 instance: "+ids[0], created, "a", t0, booted, types.ScalingActivityStatusCodeSuccessful, 100),
	}
	got := e.groupActivities("web")
	if diff := cmp.Diff(want, got, ignoreID...); diff != "" {
		t.Errorf("activities of web (-want +got):\n%s", diff)
	}
	for _, a := range got {
		if !uuid.MatchString(aws.ToString(a.ActivityId)) {
			t.Errorf("ActivityId %q is not a UUID, as AWS's are", aws.ToString(a.ActivityId))
		}
	}

	// A minute on, both have ended: newest first.
	e.advance(time.Minute)
	got = e.groupActivities("web")
	var order []string
	for _, a := range got[:2] {
		order = append(order, fmt.Sprintf("%s %s %v", aws.ToString(a.Description), a.StatusCode, aws.ToTime(a.EndTime)))
	}
	end := t1.Add(time.Minute)
	if want := []string{
		fmt.Sprintf("Terminating EC2 instance: %s Successful %v", ids[0], end),
		fmt.Sprintf("Launching a new EC2 instance: %s Successful %v", aws.ToString(c), end),
	}; !cmp.Equal(order, want) {
		t.Errorf("after a minute: got %q, want %q", order, want)
	}
}

// Activities still in progress must be described first (API_DescribeScalingActivities,
// "Activities are sorted by start time. Activities still in progress are
// described first"), so that a launch held in Pending:Wait is on the first
// page however many activities ended after it.
func TestScalingActivitiesInProgressComeFirst(t *testing.T) {
	e := newEnv(t, Options{ShutdownTime: ShutdownAtOnce})
	old := e.group("web", 1, Hook{Name: "gate", Transition: TransitionLaunching})[0]
	e.advance(10 * time.Second)
	e.setDesired("web", 2)
	held := e.groupInstances("web")[1].InstanceId
	e.advance(10 * time.Second)
	if _, err := e.client.TerminateInstanceInAutoScalingGroup(e.ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(old), ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	order := func() []string {
		var out []string
		for _, a := range e.groupActivities("web") {
			out = append(out, fmt.Sprintf("%s %s", aws.ToString(a.Description), a.StatusCode))
		}
		return out
	}
	if got, want := order(), []string{
		"Launching a new EC2 instance: " + aws.ToString(held) + " MidLifecycleAction",
		"Terminating EC2 instance: " + old + " Successful",
		"Launching a new EC2 instance: " + old + " Successful",
	}; !cmp.Equal(got, want) {
		t.Errorf("with the launch held: got %q, want %q", got, want)
	}
	e.completeAll("web", "gate", aws.ToString(held))
	if got, want := order(), []string{
		"Terminating EC2 instance: " + old + " Successful",
		"Launching a new EC2 instance: " + aws.ToString(held) + " Successful",
		"Launching a new EC2 instance: " + old + " Successful",
	}; !cmp.Equal(got, want) {
		t.Errorf("once the launch ended: got %q, want %q", got, want)
	}
}

// A launch must read PreInService while EC2 boots it, MidLifecycleAction
// while its launch hook holds it in Pending:Wait, and end Successful once
// InService, or Cancelled with AWS's status message when the hook abandons
// it (CHAP_Troubleshooting: "StatusCode": "Cancelled", "Instance failed to
// complete user's Lifecycle Action: Lifecycle Action with token … was
// abandoned: Lifecycle Action Completed with ABANDON Result"; the
// CodeDeploy knowledge-center article quotes "…: Heartbeat Timeout"), with
// StartTime always when the launch began: the drainer measures how long a
// launch has waited from it.
func TestScalingActivityFollowsALaunchThroughItsHook(t *testing.T) {
	const hb = 300
	for _, tc := range []struct {
		name       string
		end        func(e *env, id string)
		endsAfter  time.Duration // after the boot
		wantStatus types.ScalingActivityStatusCode
		wantReason string // the end of the status message; empty: none
	}{
		{"completed CONTINUE", func(e *env, id string) {
			e.advance(10 * time.Second)
			e.completeAll("web", "gate", id)
		}, 10 * time.Second, types.ScalingActivityStatusCodeSuccessful, ""},
		{"completed ABANDON", func(e *env, id string) {
			e.advance(10 * time.Second)
			if err := e.complete("web", "gate", id, "", ResultAbandon); err != nil {
				t.Fatal(err)
			}
		}, 10 * time.Second, types.ScalingActivityStatusCodeCancelled, "Lifecycle Action Completed with ABANDON Result"},
		{"heartbeat timeout with DefaultResult ABANDON", func(e *env, _ string) {
			e.advance(hb * time.Second)
		}, hb * time.Second, types.ScalingActivityStatusCodeCancelled, "Heartbeat Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{BootTime: time.Minute, ShutdownTime: ShutdownAtOnce})
			e.group("web", 0, Hook{Name: "gate", Transition: TransitionLaunching, HeartbeatTimeout: hb, DefaultResult: ResultAbandon})
			e.setDesired("web", 1)
			id := aws.ToString(e.groupInstances("web")[0].InstanceId)
			step := func(when string, wantStatus types.ScalingActivityStatusCode, wantProgress int32) types.Activity {
				t.Helper()
				acts := e.groupActivities("web")
				var a types.Activity
				for _, x := range acts {
					if strings.HasPrefix(aws.ToString(x.Description), "Launching a new EC2 instance: "+id) {
						a = x
					}
				}
				if a.StatusCode != wantStatus || aws.ToInt32(a.Progress) != wantProgress || !aws.ToTime(a.StartTime).Equal(start) {
					t.Errorf("%s: got %s, progress %d, started %v; want %s, progress %d, started %v",
						when, a.StatusCode, aws.ToInt32(a.Progress), aws.ToTime(a.StartTime), wantStatus, wantProgress, start)
				}
				return a
			}
			if a := step("while EC2 boots it", types.ScalingActivityStatusCodePreInService, 30); a.EndTime != nil {
				t.Errorf("while EC2 boots it: EndTime %v, want none", aws.ToTime(a.EndTime))
			}
			e.advance(time.Minute)
			token := e.action(id, "gate").Token
			step("while the hook holds it", types.ScalingActivityStatusCodeMidLifecycleAction, 50)

			tc.end(e, id)
			a := step("after the hook", tc.wantStatus, 100)
			if want := start.Add(time.Minute + tc.endsAfter); !aws.ToTime(a.EndTime).Equal(want) {
				t.Errorf("EndTime: got %v, want %v", aws.ToTime(a.EndTime), want)
			}
			var wantMessage, wantDesc string
			wantDesc = "Launching a new EC2 instance: " + id
			if tc.wantReason != "" {
				wantMessage = "Instance failed to complete user's Lifecycle Action: Lifecycle Action with token " + token + " was abandoned: " + tc.wantReason
				wantDesc += ".  Status Reason: " + wantMessage
			}
			if got := aws.ToString(a.StatusMessage); got != wantMessage {
				t.Errorf("StatusMessage: got %q, want %q", got, wantMessage)
			}
			if got := aws.ToString(a.Description); got != wantDesc {
				t.Errorf("Description: got %q, want %q", got, wantDesc)
			}
			if tc.wantStatus == types.ScalingActivityStatusCodeCancelled {
				// The abandoned launch is replaced; its termination records
				// nothing of its own.
				acts := e.groupActivities("web")
				got := []string{aws.ToString(acts[0].Description), aws.ToString(acts[0].Cause)}
				replacement := aws.ToString(e.groupInstances("web")[0].InstanceId)
				ended := start.Add(time.Minute + tc.endsAfter)
				want := []string{"Launching a new EC2 instance: " + replacement,
					"At " + at(ended) + " an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 1."}
				if len(acts) != 2 || !cmp.Equal(got, want) {
					t.Errorf("after the abandon: got %d activities, the newest %q; want 2, the newest %q", len(acts), got, want)
				}
			}
		})
	}
}

// TerminateInstanceInAutoScalingGroup must answer with the very activity
// DescribeScalingActivities then lists, InProgress at 0 as the API
// reference's example shows it, which the terminate hook then holds in
// MidLifecycleAction until the instance is Terminated.
func TestTerminateInstanceAnswersWithTheListedActivity(t *testing.T) {
	e := newEnv(t, Options{ShutdownTime: time.Minute})
	id := e.group("web", 2, Hook{Name: "drain"})[0]
	out, err := e.client.TerminateInstanceInAutoScalingGroup(e.ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	answered := *out.Activity
	wantCause := "At " + at(start) + " instance " + id + " was taken out of service in response to a user request, shrinking the capacity from 2 to 1."
	if answered.StatusCode != types.ScalingActivityStatusCodeInProgress || aws.ToInt32(answered.Progress) != 0 || aws.ToString(answered.Cause) != wantCause {
		t.Errorf("answer: got %s at %d, cause %q; want InProgress at 0, cause %q", answered.StatusCode, aws.ToInt32(answered.Progress), aws.ToString(answered.Cause), wantCause)
	}
	listed := func() types.Activity {
		t.Helper()
		acts := e.activities(&autoscaling.DescribeScalingActivitiesInput{ActivityIds: []string{aws.ToString(answered.ActivityId)}}).Activities
		if len(acts) != 1 {
			t.Fatalf("activity %s: listed %d times, want once", aws.ToString(answered.ActivityId), len(acts))
		}
		return acts[0]
	}
	if a := listed(); a.StatusCode != types.ScalingActivityStatusCodeMidLifecycleAction || aws.ToString(a.Cause) != wantCause {
		t.Errorf("while the hook holds it: got %s, cause %q; want MidLifecycleAction, the answer's cause", a.StatusCode, aws.ToString(a.Cause))
	}
	// A repeated request answers with the same activity, as it stands.
	again, err := e.client.TerminateInstanceInAutoScalingGroup(e.ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if a := again.Activity; aws.ToString(a.ActivityId) != aws.ToString(answered.ActivityId) || a.StatusCode != types.ScalingActivityStatusCodeMidLifecycleAction {
		t.Errorf("repeated request: got activity %s, %s; want %s, MidLifecycleAction", aws.ToString(a.ActivityId), a.StatusCode, aws.ToString(answered.ActivityId))
	}
	e.completeAll("web", "drain", id)
	if a := listed(); a.StatusCode != types.ScalingActivityStatusCodeInProgress {
		t.Errorf("shutting down: got %s, want InProgress", a.StatusCode)
	}
	e.advance(time.Minute)
	if a := listed(); a.StatusCode != types.ScalingActivityStatusCodeSuccessful || !aws.ToTime(a.EndTime).Equal(start.Add(time.Minute)) {
		t.Errorf("Terminated: got %s ending %v, want Successful ending %v", a.StatusCode, aws.ToTime(a.EndTime), start.Add(time.Minute))
	}
}

// The warm pool's launches and terminations must be told apart as AWS
// words them ("Launching a new EC2 instance into warm pool: i-…", "… from
// warm pool: i-…", "Terminating EC2 instance from warm pool: i-…"), each
// from its own StartTime: an instance taken out of the pool is a new
// launch, the one whose start the drainer wants.
func TestScalingActivitiesOfTheWarmPool(t *testing.T) {
	e := newEnv(t, Options{BootTime: time.Minute, ShutdownTime: time.Minute})
	e.group("web", 0)
	e.putWarmPool(&autoscaling.PutWarmPoolInput{AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(2), MaxGroupPreparedCapacity: aws.Int32(2)})
	warm := e.warmIDs("web")
	e.advance(2 * time.Minute) // booted at 1m, Warmed:Stopped at 2m
	t1 := start.Add(2 * time.Minute)
	e.setDesired("web", 1)
	if _, err := e.client.TerminateInstanceInAutoScalingGroup(e.ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(warm[1]), ShouldDecrementDesiredCapacity: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Description string
		Status      types.ScalingActivityStatusCode
		Start, End  time.Time
	}
	var got []row
	for _, a := range e.groupActivities("web") {
		got = append(got, row{aws.ToString(a.Description), a.StatusCode, aws.ToTime(a.StartTime), aws.ToTime(a.EndTime)})
	}
	refill := e.warmIDs("web")
	var refills []string
	for _, id := range refill {
		if id != warm[1] {
			refills = append(refills, id)
		}
	}
	if len(refills) != 2 {
		t.Fatalf("warm pool after the scale out and the termination: got %v, want two new instances and %s", refill, warm[1])
	}
	// The scale out takes warm[0] and refills the pool; the termination
	// of warm[1] refills it again.
	want := []row{
		{"Launching a new EC2 instance into warm pool: " + refills[1], types.ScalingActivityStatusCodePreInService, t1, time.Time{}},
		{"Terminating EC2 instance from warm pool: " + warm[1], types.ScalingActivityStatusCodeInProgress, t1, time.Time{}},
		{"Launching a new EC2 instance into warm pool: " + refills[0], types.ScalingActivityStatusCodePreInService, t1, time.Time{}},
		{"Launching a new EC2 instance from warm pool: " + warm[0], types.ScalingActivityStatusCodePreInService, t1, time.Time{}},
		{"Launching a new EC2 instance into warm pool: " + warm[1], types.ScalingActivityStatusCodeSuccessful, start, t1},
		{"Launching a new EC2 instance into warm pool: " + warm[0], types.ScalingActivityStatusCodeSuccessful, start, t1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("activities (-want +got):\n%s", diff)
	}
}

// DescribeScalingActivities must page with MaxRecords (default and maximum
// 100) and NextToken, listing every activity exactly once across pages in
// the order of a single answer, or the SDK's paginator loops or misses the
// launch the drainer looks for.
func TestDescribeScalingActivitiesPages(t *testing.T) {
	e := newEnv(t, Options{})
	if _, _, err := e.srv.CreateGroup("big", 0, 200, 101); err != nil {
		t.Fatal(err)
	}
	e.setDesired("big", 96) // five terminations: 106 activities

	first := e.activities(&autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("big")})
	if len(first.Activities) != 100 || first.NextToken == nil {
		t.Fatalf("without MaxRecords: got %d activities, token %v; want 100 and a token", len(first.Activities), first.NextToken)
	}
	rest := e.activities(&autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("big"), NextToken: first.NextToken})
	if len(rest.Activities) != 6 || rest.NextToken != nil {
		t.Errorf("second page: got %d activities, token %v; want 6 and no token", len(rest.Activities), rest.NextToken)
	}
	var whole []string
	for _, a := range append(first.Activities, rest.Activities...) {
		whole = append(whole, aws.ToString(a.ActivityId))
	}

	for _, size := range []int32{1, 7, 53, 100} {
		t.Run(fmt.Sprintf("MaxRecords %d", size), func(t *testing.T) {
			p := autoscaling.NewDescribeScalingActivitiesPaginator(e.client, &autoscaling.DescribeScalingActivitiesInput{
				AutoScalingGroupName: aws.String("big"), MaxRecords: aws.Int32(size)})
			var got []string
			pages := 0
			for p.HasMorePages() {
				out, err := p.NextPage(e.ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Activities) > int(size) {
					t.Errorf("page %d: got %d activities, want at most %d", pages, len(out.Activities), size)
				}
				for _, a := range out.Activities {
					got = append(got, aws.ToString(a.ActivityId))
				}
				pages++
			}
			if !cmp.Equal(got, whole) {
				t.Errorf("across %d pages: got %d activities, want the %d of one listing, in its order", pages, len(got), len(whole))
			}
		})
	}

	t.Run("an activity that ends between pages is not missed", func(t *testing.T) {
		e := newEnv(t, Options{BootTime: time.Minute})
		e.group("web", 4)
		page := e.activities(&autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web"), MaxRecords: aws.Int32(2)})
		e.advance(time.Minute) // every launch ends
		seen := map[string]bool{}
		for _, a := range page.Activities {
			seen[aws.ToString(a.ActivityId)] = true
		}
		for token := page.NextToken; token != nil; {
			out := e.activities(&autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web"), MaxRecords: aws.Int32(2), NextToken: token})
			for _, a := range out.Activities {
				seen[aws.ToString(a.ActivityId)] = true
			}
			token = out.NextToken
		}
		if len(seen) != 4 {
			t.Errorf("got %d distinct activities across the pages, want all 4", len(seen))
		}
	})
}

// DescribeScalingActivities must filter by group, by ActivityIds (unknown
// IDs "are ignored with no error"), by Filters, and list only the last six
// weeks; without a group it lists the account's (API_DescribeScalingActivities).
func TestDescribeScalingActivitiesFilters(t *testing.T) {
	e := newEnv(t, Options{BootTime: time.Minute})
	e.group("web", 2)
	e.advance(time.Minute) // web's launches end
	e.group("api", 1)
	api := e.groupActivities("api")
	web := e.groupActivities("web")
	id := func(a types.Activity) string { return aws.ToString(a.ActivityId) }
	ids := func(acts []types.Activity) []string {
		out := []string{}
		for _, a := range acts {
			out = append(out, id(a))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   autoscaling.DescribeScalingActivitiesInput
		want []string
	}{
		{"the account's, running first", autoscaling.DescribeScalingActivitiesInput{}, []string{id(api[0]), id(web[0]), id(web[1])}},
		{"one group's", autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web")}, ids(web)},
		{"an unknown group has none", autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("nope")}, []string{}},
		{"by ID, unknown IDs ignored", autoscaling.DescribeScalingActivitiesInput{ActivityIds: []string{id(web[1]), "0b7e1c4a-2f3d-4e5f-9a8b-7c6d5e4f3a2b"}}, []string{id(web[1])}},
		{"by ID and another group", autoscaling.DescribeScalingActivitiesInput{ActivityIds: []string{id(web[1])}, AutoScalingGroupName: aws.String("api")}, []string{}},
		{"Status", autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("api"),
			Filters: []types.Filter{{Name: aws.String("Status"), Values: []string{"Successful", "PreInService"}}}}, ids(api)},
		{"Status of none", autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web"),
			Filters: []types.Filter{{Name: aws.String("Status"), Values: []string{"PreInService"}}}}, []string{}},
		{"StartTimeLowerBound without an offset is UTC", autoscaling.DescribeScalingActivitiesInput{
			Filters: []types.Filter{{Name: aws.String("StartTimeLowerBound"), Values: []string{start.Add(30 * time.Second).Format("2006-01-02T15:04:05")}}}}, ids(api)},
		{"StartTimeUpperBound", autoscaling.DescribeScalingActivitiesInput{
			Filters: []types.Filter{{Name: aws.String("StartTimeUpperBound"), Values: []string{start.In(time.FixedZone("", 8*3600)).Format(time.RFC3339)}}}}, ids(web)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if got := ids(e.activities(&in).Activities); !cmp.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("IncludeDeletedGroups shows each group's state", func(t *testing.T) {
		for _, a := range e.activities(&autoscaling.DescribeScalingActivitiesInput{IncludeDeletedGroups: aws.Bool(true)}).Activities {
			if got := aws.ToString(a.AutoScalingGroupState); got != "InService" {
				t.Errorf("activity %s: AutoScalingGroupState %q, want InService", id(a), got)
			}
		}
		if a := web[0]; a.AutoScalingGroupState != nil {
			t.Errorf("without IncludeDeletedGroups: AutoScalingGroupState %q, want none", aws.ToString(a.AutoScalingGroupState))
		}
	})
	t.Run("six weeks on, nothing is left", func(t *testing.T) {
		e.advance(6 * 7 * 24 * time.Hour)
		if got := e.activities(&autoscaling.DescribeScalingActivitiesInput{}).Activities; len(got) != 1 {
			t.Errorf("got %d activities, want only api's launch, six weeks old to the minute", len(got))
		}
		e.advance(time.Minute)
		if got := e.activities(&autoscaling.DescribeScalingActivitiesInput{}).Activities; len(got) != 0 {
			t.Errorf("got %d activities, want none", len(got))
		}
	})
}

// Requests outside the model's limits must fail as AWS fails them, with
// ValidationError (the drainer classifies it as terminal) or
// InvalidNextToken, the operation's modelled error.
func TestDescribeScalingActivitiesErrors(t *testing.T) {
	e := newEnv(t, Options{})
	e.group("web", 1)
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("0b7e1c4a-2f3d-4e5f-9a8b-%012d", i)
	}
	for _, tc := range []struct {
		name        string
		in          autoscaling.DescribeScalingActivitiesInput
		wantCode    string
		wantMessage string // a part of the message
	}{
		{"MaxRecords 0", autoscaling.DescribeScalingActivitiesInput{MaxRecords: aws.Int32(0)},
			"ValidationError", "Value '0' at 'maxRecords' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"MaxRecords 101", autoscaling.DescribeScalingActivitiesInput{MaxRecords: aws.Int32(101)},
			"ValidationError", "Value '101' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"51 ActivityIds", autoscaling.DescribeScalingActivitiesInput{ActivityIds: many},
			"ValidationError", "at 'activityIds' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{"a NextToken never issued", autoscaling.DescribeScalingActivitiesInput{NextToken: aws.String("not-a-token!")},
			"InvalidNextToken", "The token 'not-a-token!' is invalid."},
		{"a Status filter without a group", autoscaling.DescribeScalingActivitiesInput{
			Filters: []types.Filter{{Name: aws.String("Status"), Values: []string{"Successful"}}}}, "ValidationError", "AutoScalingGroupName"},
		{"an unknown filter", autoscaling.DescribeScalingActivitiesInput{
			Filters: []types.Filter{{Name: aws.String("tag-key"), Values: []string{"x"}}}}, "ValidationError", "tag-key"},
		{"an unreadable time", autoscaling.DescribeScalingActivitiesInput{
			Filters: []types.Filter{{Name: aws.String("StartTimeLowerBound"), Values: []string{"yesterday"}}}}, "ValidationError", "yesterday"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			_, err := e.client.DescribeScalingActivities(e.ctx, &in)
			if err == nil {
				t.Fatalf("got no error, want %s", tc.wantCode)
			}
			if code, msg := apiError(t, err); code != tc.wantCode || !strings.Contains(msg, tc.wantMessage) {
				t.Errorf("got %s: %q, want %s containing %q", code, msg, tc.wantCode, tc.wantMessage)
			}
		})
	}
}
