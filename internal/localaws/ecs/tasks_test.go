package ecs

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// The drainer pages through ListTasks with the SDK paginator; every task must
// come back exactly once and the last page must carry no token.
// (Pagination as aws-sdk-go-v2's ecs.NewListTasksPaginator behaves.)
func TestListTasksPaginates250Tasks(t *testing.T) {
	f := newFixture(t, Options{})
	ci := f.register("i-1", Resources{})
	var want []string
	for range 250 {
		want = append(want, f.runTask("i-1", TaskSpec{Family: "batch"}))
	}
	p := ecssdk.NewListTasksPaginator(f.api, &ecssdk.ListTasksInput{
		Cluster: aws.String(clusterName), ContainerInstance: aws.String(ci), MaxResults: aws.Int32(100),
	})
	var got []string
	var sizes []int
	for p.HasMorePages() {
		page, err := p.NextPage(f.ctx)
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		got = append(got, page.TaskArns...)
		sizes = append(sizes, len(page.TaskArns))
	}
	if diff := cmp.Diff([]int{100, 100, 50}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tasks across pages (-want +got):\n%s", diff)
	}
	// The three page sizes are three answered calls; the server's raw call
	// count is not asserted, as the SDK may retry a call whose connection a
	// loaded machine dropped (seen once under -race in CI).
}

// ListTasks filters decide what the drainer believes still runs on the
// instance. The botocore ECS model: desiredStatus defaults to RUNNING, PENDING
// returns nothing, stopped tasks are listable with desiredStatus STOPPED.
func TestListTasksFilters(t *testing.T) {
	f := newFixture(t, Options{})
	ci1 := f.register("i-1", Resources{})
	f.register("i-2", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 2, StartDelay: time.Minute})
	batch := f.runTask("i-1", TaskSpec{Family: "batch"})
	stopped := f.runTask("i-1", TaskSpec{Family: "cron"})
	if _, err := f.api.StopTask(f.ctx, &ecssdk.StopTaskInput{Cluster: aws.String(clusterName), Task: aws.String(stopped)}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	var web []string
	for _, k := range f.srv.Tasks(clusterName) {
		if k.Group == "service:web" {
			web = append(web, k.ARN)
		}
	}
	webOn1 := f.tasksOn("i-1", "service:web")[0].ARN
	startedBy := aws.ToString(f.describeTask(web[0]).StartedBy)

	tests := []struct {
		name string
		in   ecssdk.ListTasksInput
		want []string
	}{
		{"the default is desired RUNNING, pending tasks included", ecssdk.ListTasksInput{}, append(slices.Clone(web), batch)},
		{"desiredStatus STOPPED lists the stopped task", ecssdk.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}, []string{stopped}},
		{"desiredStatus PENDING returns nothing", ecssdk.ListTasksInput{DesiredStatus: types.DesiredStatusPending}, nil},
		{"serviceName selects the service's tasks", ecssdk.ListTasksInput{ServiceName: aws.String("web")}, web},
		{"family selects standalone tasks", ecssdk.ListTasksInput{Family: aws.String("batch")}, []string{batch}},
		{"startedBy selects the service's deployment", ecssdk.ListTasksInput{StartedBy: aws.String(startedBy)}, web},
		{"containerInstance by ARN selects the host", ecssdk.ListTasksInput{ContainerInstance: aws.String(ci1)}, []string{webOn1, batch}},
		{"containerInstance by id selects the host", ecssdk.ListTasksInput{ContainerInstance: aws.String(lastSegment(ci1))}, []string{webOn1, batch}},
		{"launchType FARGATE finds no EC2 task", ecssdk.ListTasksInput{LaunchType: types.LaunchTypeFargate}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.listTasks(tt.in)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b []string) bool {
				return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
			})); diff != "" {
				t.Errorf("ListTasks(%+v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}

	errTests := []struct {
		name    string
		in      ecssdk.ListTasksInput
		wantErr func(error) bool
	}{
		{"an unknown service is ServiceNotFoundException", ecssdk.ListTasksInput{ServiceName: aws.String("nope")}, isServiceNotFound},
		{"an unknown cluster is ClusterNotFoundException", ecssdk.ListTasksInput{Cluster: aws.String("nope")}, isClusterNotFound},
		{"maxResults 0 is out of range", ecssdk.ListTasksInput{MaxResults: aws.Int32(0)}, isInvalidParameter},
		{"maxResults 101 is out of range", ecssdk.ListTasksInput{MaxResults: aws.Int32(101)}, isInvalidParameter},
		{"an unknown desiredStatus is invalid", ecssdk.ListTasksInput{DesiredStatus: "DONE"}, isInvalidParameter},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.Cluster == nil {
				in.Cluster = aws.String(clusterName)
			}
			if _, err := f.api.ListTasks(f.ctx, &in); !tt.wantErr(err) {
				t.Errorf("ListTasks(%+v): got %v, want the typed error", in, err)
			}
		})
	}
}

// The drainer tells service tasks from standalone ones by group and startedBy,
// and reads the times as SDK time values
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-groups.html).
// RunTask's group is free-form: a task may name a service's group with no
// service behind it
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html#ECS-RunTask-request-group).
func TestDescribeTasksFields(t *testing.T) {
	f := newFixture(t, Options{})
	ci := f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 1, CPU: 256, Memory: 512, StartDelay: 5 * time.Second})
	f.clk.Advance(10 * time.Second)
	web := f.tasksOn("i-1", "service:web")[0].ARN
	batch := f.runTask("i-1", TaskSpec{Family: "batch", CPU: 128, Memory: 64})
	named := f.runTask("i-1", TaskSpec{Family: "batch", Group: "service:nightly", CPU: 128, Memory: 64})

	out, err := f.api.DescribeTasks(f.ctx, &ecssdk.DescribeTasksInput{
		Cluster: aws.String(clusterName), Tasks: []string{web, lastSegment(batch), named, "ffffffffffffffffffffffffffffffff"},
	})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	if len(out.Tasks) != 3 {
		t.Fatalf("DescribeTasks: got %d tasks, want 3", len(out.Tasks))
	}
	svc, alone := out.Tasks[0], out.Tasks[1]
	checks := []struct {
		field, got, want string
	}{
		{"service task group", aws.ToString(svc.Group), "service:web"},
		{"standalone task group", aws.ToString(alone.Group), "family:batch"},
		{"standalone task group RunTask named", aws.ToString(out.Tasks[2].Group), "service:nightly"},
		{"standalone task startedBy", aws.ToString(alone.StartedBy), ""},
		{"launchType", string(svc.LaunchType), "EC2"},
		{"clusterArn", aws.ToString(svc.ClusterArn), "arn:aws:ecs:us-east-1:123456789012:cluster/prod"},
		{"containerInstanceArn", aws.ToString(svc.ContainerInstanceArn), ci},
		{"taskDefinitionArn", aws.ToString(svc.TaskDefinitionArn), "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"},
		{"cpu", aws.ToString(svc.Cpu), "256"},
		{"memory", aws.ToString(svc.Memory), "512"},
		{"lastStatus", aws.ToString(svc.LastStatus), "RUNNING"},
		{"desiredStatus", aws.ToString(svc.DesiredStatus), "RUNNING"},
		{"createdAt", aws.ToTime(svc.CreatedAt).UTC().String(), start.String()},
		{"startedAt", aws.ToTime(svc.StartedAt).UTC().String(), start.Add(5 * time.Second).String()},
		{"failure", aws.ToString(out.Failures[0].Reason), "MISSING"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.field, c.got, c.want)
		}
	}
	if got := aws.ToString(svc.StartedBy); !regexp.MustCompile(`^ecs-svc/\d{19}$`).MatchString(got) {
		t.Errorf("service task startedBy: got %q, want ecs-svc/<19 digits>", got)
	}
	if !regexp.MustCompile(`^arn:aws:ecs:us-east-1:123456789012:task/prod/[0-9a-f]{32}$`).MatchString(web) {
		t.Errorf("task ARN: got %q, want the long format task/<cluster>/<32 hex>", web)
	}

	t.Run("more than 100 tasks is InvalidParameterException", func(t *testing.T) {
		_, err := f.api.DescribeTasks(f.ctx, &ecssdk.DescribeTasksInput{Cluster: aws.String(clusterName), Tasks: make([]string, 101)})
		if !isInvalidParameter(err) {
			t.Errorf("101 tasks: got %v, want InvalidParameterException", err)
		}
	})
}

// StopTask is asynchronous on AWS: desired STOPPED at once, last STOPPED after
// the stop timeout. A drainer that treats the first as the second cuts
// connections short (StopTask in the botocore ECS model;
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html).
func TestStopTaskTimeline(t *testing.T) {
	f := newFixture(t, Options{})
	ci := f.register("i-1", Resources{})
	arn := f.runTask("i-1", TaskSpec{Family: "batch", StopDelay: 30 * time.Second})
	stop := func() *types.Task {
		out, err := f.api.StopTask(f.ctx, &ecssdk.StopTaskInput{Cluster: aws.String(clusterName), Task: aws.String(arn), Reason: aws.String("draining host")})
		if err != nil {
			t.Fatalf("StopTask(%s): %v", arn, err)
		}
		return out.Task
	}

	got := stop()
	if aws.ToString(got.DesiredStatus) != "STOPPED" || aws.ToString(got.LastStatus) != "RUNNING" {
		t.Errorf("StopTask reply: got desired %s, last %s; want STOPPED, RUNNING", aws.ToString(got.DesiredStatus), aws.ToString(got.LastStatus))
	}
	if got.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(got.StoppedReason) != "draining host" {
		t.Errorf("StopTask reply: got stopCode %s, reason %q; want UserInitiated, %q", got.StopCode, aws.ToString(got.StoppedReason), "draining host")
	}
	if got := f.listTasks(ecssdk.ListTasksInput{ContainerInstance: aws.String(ci)}); len(got) != 0 {
		t.Errorf("default ListTasks right after StopTask: got %v, want none (desired status is STOPPED)", got)
	}
	if got := f.instance("i-1"); got.RunningTasksCount != 0 {
		t.Errorf("runningTasksCount right after StopTask: got %d, want 0", got.RunningTasksCount)
	}

	f.clk.Advance(29 * time.Second)
	if got := aws.ToString(f.describeTask(arn).LastStatus); got != "RUNNING" {
		t.Errorf("lastStatus 29s after StopTask: got %s, want RUNNING", got)
	}
	f.clk.Advance(time.Second)
	task := f.describeTask(arn)
	if got := aws.ToString(task.LastStatus); got != "STOPPED" {
		t.Errorf("lastStatus 30s after StopTask: got %s, want STOPPED", got)
	}
	if got, want := aws.ToTime(task.StoppedAt), start.Add(30*time.Second); !got.Equal(want) {
		t.Errorf("stoppedAt: got %v, want %v", got, want)
	}
	if got := stop(); aws.ToString(got.LastStatus) != "STOPPED" || aws.ToString(got.StoppedReason) != "draining host" {
		t.Errorf("StopTask on a stopped task: got last %s, reason %q; want it returned unchanged", aws.ToString(got.LastStatus), aws.ToString(got.StoppedReason))
	}

	t.Run("an unknown task has AWS's message", func(t *testing.T) {
		_, err := f.api.StopTask(f.ctx, &ecssdk.StopTaskInput{Cluster: aws.String(clusterName), Task: aws.String("ffffffffffffffffffffffffffffffff")})
		if !isInvalidParameter(err) || !strings.Contains(err.Error(), "The referenced task was not found.") {
			t.Errorf("unknown task: got %v, want InvalidParameterException: The referenced task was not found.", err)
		}
	})
}

// DescribeTasks promises stopped tasks for at least an hour; the emulator
// forgets them at the hour so a drainer holding old ARNs sees MISSING.
// (DescribeTasks in the botocore ECS model.)
func TestStoppedTasksVanishAfterAnHour(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	arn := f.runTask("i-1", TaskSpec{Family: "batch", RunFor: time.Minute})
	describe := func() (tasks, missing int) {
		out, err := f.api.DescribeTasks(f.ctx, &ecssdk.DescribeTasksInput{Cluster: aws.String(clusterName), Tasks: []string{arn}})
		if err != nil {
			t.Fatalf("DescribeTasks: %v", err)
		}
		return len(out.Tasks), len(out.Failures)
	}
	steps := []struct {
		name          string
		advance       time.Duration
		tasks         int
		stoppedListed int
	}{
		{"stopped after running its minute, still described", time.Minute, 1, 1},
		{"still there 59 minutes after stopping", 59 * time.Minute, 1, 1},
		{"gone an hour after stopping", time.Minute, 0, 0},
	}
	for _, s := range steps {
		f.clk.Advance(s.advance)
		tasks, missing := describe()
		listed := len(f.listTasks(ecssdk.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}))
		if tasks != s.tasks || missing != 1-s.tasks || listed != s.stoppedListed {
			t.Errorf("%s: got %d described, %d missing, %d listed STOPPED; want %d, %d, %d",
				s.name, tasks, missing, listed, s.tasks, 1-s.tasks, s.stoppedListed)
		}
	}
}

// GetTaskProtection tells the drainer why a drain may stall; only service
// tasks can be protected
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection.html).
func TestGetTaskProtection(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 2})
	web := f.tasksOn("i-1", "service:web")
	batch := f.runTask("i-1", TaskSpec{Family: "batch"})
	until := start.Add(2 * time.Hour)
	if err := f.srv.SetTaskProtection(clusterName, web[0].ARN, until); err != nil {
		t.Fatalf("SetTaskProtection: %v", err)
	}
	get := func() *ecssdk.GetTaskProtectionOutput {
		out, err := f.api.GetTaskProtection(f.ctx, &ecssdk.GetTaskProtectionInput{
			Cluster: aws.String(clusterName), Tasks: []string{web[0].ARN, web[1].ARN, batch, "ffffffffffffffffffffffffffffffff"},
		})
		if err != nil {
			t.Fatalf("GetTaskProtection: %v", err)
		}
		return out
	}

	out := get()
	type protection struct {
		Enabled bool
		Until   time.Time
	}
	var got []protection
	for _, p := range out.ProtectedTasks {
		got = append(got, protection{p.ProtectionEnabled, aws.ToTime(p.ExpirationDate).UTC()})
	}
	if diff := cmp.Diff([]protection{{true, until}, {false, time.Time{}}}, got); diff != "" {
		t.Errorf("protected tasks (-want +got):\n%s", diff)
	}
	var reasons []string
	for _, fl := range out.Failures {
		reasons = append(reasons, aws.ToString(fl.Reason))
	}
	if diff := cmp.Diff([]string{"TASK_NOT_VALID", "MISSING"}, reasons); diff != "" {
		t.Errorf("failure reasons (-want +got):\n%s", diff)
	}

	f.clk.Advance(2 * time.Hour)
	if p := get().ProtectedTasks[0]; p.ProtectionEnabled {
		t.Errorf("protection at its expiry: got enabled, want disabled")
	}
}
