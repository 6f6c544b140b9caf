package ecs

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// step is one moment of a drain timeline: advance the clock, then expect the
// tasks of a group on each instance as "lastStatus/desiredStatus".
type step struct {
	name    string
	advance time.Duration
	want    map[string][]string // EC2 instance id -> statuses, in creation order
}

func (f *fixture) checkTimeline(group string, steps []step) {
	f.t.Helper()
	for _, s := range steps {
		f.clk.Advance(s.advance)
		for ec2ID, want := range s.want {
			if diff := cmp.Diff(want, statuses(f.tasksOn(ec2ID, group))); diff != "" {
				f.t.Errorf("%s: %s tasks on %s (-want +got):\n%s", s.name, group, ec2ID, diff)
			}
		}
	}
}

// counts reads runningTasksCount and pendingTasksCount over the wire, as the
// drainer does.
func (f *fixture) counts(ec2ID string) (running, pending int32) {
	f.t.Helper()
	out, err := f.api.DescribeContainerInstances(f.ctx, &ecssdk.DescribeContainerInstancesInput{
		Cluster: aws.String(clusterName), ContainerInstances: []string{f.instance(ec2ID).ARN},
	})
	if err != nil || len(out.ContainerInstances) != 1 {
		f.t.Fatalf("DescribeContainerInstances(%s): err %v", ec2ID, err)
	}
	return out.ContainerInstances[0].RunningTasksCount, out.ContainerInstances[0].PendingTasksCount
}

// A drain replaces service tasks on another instance and, with
// minimumHealthyPercent 100, stops an old task only once its replacement
// runs; the stopping task leaves runningTasksCount and the default ListTasks
// at once but reaches STOPPED only after its stop delay.
// See https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html;
// the counts go by desiredStatus (the botocore ECS model).
func TestDrainReplacesServiceTasksElsewhere(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.register("i-2", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 2, StartDelay: 10 * time.Second, StopDelay: 30 * time.Second})
	f.clk.Advance(10 * time.Second)
	f.drain("i-1")

	f.checkTimeline("service:web", []step{
		{"right after DRAINING, the replacement is pending and the old task still runs", 0, map[string][]string{
			"i-1": {"RUNNING/RUNNING"},
			"i-2": {"RUNNING/RUNNING", "PENDING/RUNNING"},
		}},
		{"once the replacement runs, the old task is told to stop", 10 * time.Second, map[string][]string{
			"i-1": {"RUNNING/STOPPED"},
			"i-2": {"RUNNING/RUNNING", "RUNNING/RUNNING"},
		}},
	})
	if running, pending := f.counts("i-1"); running != 0 || pending != 0 {
		t.Errorf("counts on i-1 while its task stops: got running %d, pending %d; want 0, 0 (desired status counts)", running, pending)
	}
	if got := f.listTasks(ecssdk.ListTasksInput{ContainerInstance: aws.String(f.instance("i-1").ARN)}); len(got) != 0 {
		t.Errorf("default ListTasks on i-1 while its task stops: got %v, want none", got)
	}
	if got := f.listTasks(ecssdk.ListTasksInput{ContainerInstance: aws.String(f.instance("i-1").ARN), DesiredStatus: types.DesiredStatusStopped}); len(got) != 1 {
		t.Errorf("ListTasks STOPPED on i-1 while its task stops: got %v, want the stopping task", got)
	}
	f.checkTimeline("service:web", []step{
		{"a second before the stop delay ends it still runs", 29 * time.Second, map[string][]string{"i-1": {"RUNNING/STOPPED"}}},
		{"at the stop delay it is STOPPED", time.Second, map[string][]string{"i-1": {"STOPPED/STOPPED"}}},
	})
	stopped := f.tasksOn("i-1", "service:web")[0]
	if stopped.StopCode != "ServiceSchedulerInitiated" || !stopped.StoppedAt.Equal(start.Add(50*time.Second)) {
		t.Errorf("drained task: got stopCode %s, stoppedAt %v; want ServiceSchedulerInitiated at %v", stopped.StopCode, stopped.StoppedAt, start.Add(50*time.Second))
	}
}

// The same timeline must hold when the clock jumps far past every step in one
// go: transitions apply in time order, each with its own timestamp.
func TestDrainTimestampsSurviveAClockJump(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.register("i-2", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 1, StartDelay: 10 * time.Second, StopDelay: 30 * time.Second})
	f.clk.Advance(10 * time.Second)
	f.drain("i-1")
	f.clk.Advance(time.Hour - time.Second)

	old, repl := f.tasksOn("i-1", "service:web")[0], f.tasksOn("i-2", "service:web")[0]
	checks := []struct {
		what      string
		got, want time.Time
	}{
		{"replacement startedAt", repl.StartedAt, start.Add(20 * time.Second)},
		{"old task stoppingAt", old.StoppingAt, start.Add(20 * time.Second)},
		{"old task stoppedAt", old.StoppedAt, start.Add(50 * time.Second)},
	}
	for _, c := range checks {
		if !c.got.Equal(c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
}

// "If both are 100 %, draining cannot make progress", and neither can it when
// a fixed host port leaves no room elsewhere. The drainer must cope with a
// drain that never ends. See
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html.
func TestDrainNeverFinishesWithoutRoom(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 1, HostPort: 80})
	f.drain("i-1")
	f.checkTimeline("service:web", []step{
		{"an hour later the only task still runs", time.Hour, map[string][]string{"i-1": {"RUNNING/RUNNING"}}},
	})
	if running, _ := f.counts("i-1"); running != 1 {
		t.Errorf("runningTasksCount after an hour of draining: got %d, want 1", running)
	}
}

// With minimumHealthyPercent 50 the scheduler may stop half the tasks before
// any replacement exists, and finishes once capacity appears.
// See https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html
// (minimumHealthyPercent/maximumPercent).
func TestDrainWithHalfHealthyStopsWithoutReplacement(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 2, MinimumHealthyPercent: 50})
	f.drain("i-1")
	f.checkTimeline("service:web", []step{
		{"one task stops at once, the other keeps the service at 50 %", 0, map[string][]string{
			"i-1": {"STOPPED/STOPPED", "RUNNING/RUNNING"},
		}},
		{"with no room elsewhere the second never stops", time.Hour - time.Second, map[string][]string{
			"i-1": {"STOPPED/STOPPED", "RUNNING/RUNNING"},
		}},
	})
	f.register("i-2", Resources{})
	f.checkTimeline("service:web", []step{
		{"new capacity takes the replacements and the drain completes", 0, map[string][]string{
			"i-1": {"STOPPED/STOPPED", "STOPPED/STOPPED"},
			"i-2": {"RUNNING/RUNNING", "RUNNING/RUNNING"},
		}},
	})
}

// "Any PENDING or RUNNING tasks that do not belong to a service aren't
// affected": a standalone task runs on until it ends by itself, and the
// instance's runningTasksCount keeps counting it. See
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html.
func TestDrainLeavesStandaloneTasksAlone(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.register("i-2", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 1})
	f.runTask("i-1", TaskSpec{Family: "batch", RunFor: 10 * time.Minute})
	f.drain("i-1")

	f.checkTimeline("service:web", []step{
		{"the service task moved at once", 0, map[string][]string{"i-1": {"STOPPED/STOPPED"}, "i-2": {"RUNNING/RUNNING"}}},
	})
	f.checkTimeline("family:batch", []step{
		{"the batch task runs on", 9 * time.Minute, map[string][]string{"i-1": {"RUNNING/RUNNING"}}},
	})
	if running, _ := f.counts("i-1"); running != 1 {
		t.Errorf("runningTasksCount with the batch task left: got %d, want 1", running)
	}
	f.checkTimeline("family:batch", []step{
		{"it stops when it has run its course", time.Minute, map[string][]string{"i-1": {"STOPPED/STOPPED"}}},
	})
	if k := f.tasksOn("i-1", "family:batch")[0]; k.StopCode != "EssentialContainerExited" {
		t.Errorf("batch task stopCode: got %s, want EssentialContainerExited", k.StopCode)
	}
	if running, _ := f.counts("i-1"); running != 0 {
		t.Errorf("runningTasksCount after the batch task ended: got %d, want 0", running)
	}
}

// Daemon tasks are stopped last: only after every other task on the draining
// instance has reached STOPPED, and no daemon is placed on it again.
// See https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html;
// the daemon ordering is the brief's reading of the DAEMON
// strategy.
func TestDrainStopsDaemonTasksLast(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.register("i-2", Resources{})
	f.createService(ServiceSpec{Name: "agent", Daemon: true, StopDelay: 5 * time.Second})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 1, StopDelay: 30 * time.Second})
	if got := len(f.tasksOn("i-1", "service:web")); got != 1 {
		t.Fatalf("web tasks on i-1 before draining: got %d, want 1", got)
	}
	f.drain("i-1")

	steps := []struct {
		step
		agent []string
	}{
		{step{"the web task is told to stop, the daemon runs on", 0, nil}, []string{"RUNNING/RUNNING"}},
		{step{"while web is still stopping the daemon runs on", 29 * time.Second, nil}, []string{"RUNNING/RUNNING"}},
		{step{"once web is STOPPED the daemon is told to stop", time.Second, nil}, []string{"RUNNING/STOPPED"}},
		{step{"and stops after its own delay", 5 * time.Second, nil}, []string{"STOPPED/STOPPED"}},
		{step{"no daemon comes back to the draining instance", time.Hour - time.Minute, nil}, []string{"STOPPED/STOPPED"}},
	}
	for _, s := range steps {
		f.clk.Advance(s.advance)
		if diff := cmp.Diff(s.agent, statuses(f.tasksOn("i-1", "service:agent"))); diff != "" {
			t.Errorf("%s: daemon tasks on i-1 (-want +got):\n%s", s.name, diff)
		}
	}
	if got := statuses(f.tasksOn("i-2", "service:agent")); len(got) != 1 {
		t.Errorf("daemon tasks on the ACTIVE instance: got %v, want exactly one", got)
	}
}

// "Service tasks on the container instance that are in the PENDING state are
// stopped immediately."
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html).
func TestDrainStopsPendingServiceTasksAtOnce(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.register("i-2", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 1, StartDelay: time.Minute, StopDelay: 30 * time.Second})
	f.drain("i-1")
	f.checkTimeline("service:web", []step{
		{"the pending task is STOPPED at once and replaced", 0, map[string][]string{
			"i-1": {"STOPPED/STOPPED"},
			"i-2": {"PENDING/RUNNING"},
		}},
	})
	if running, pending := f.counts("i-1"); running != 0 || pending != 0 {
		t.Errorf("counts on i-1: got running %d, pending %d; want 0, 0", running, pending)
	}
}

// Setting the instance back to ACTIVE stops the drain: nothing more is
// stopped there, and the service fills it again (it stays DRAINING until it
// is set ACTIVE again:
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html).
func TestReactivatingStopsTheDrain(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 2, MinimumHealthyPercent: 50})
	f.drain("i-1")
	if _, err := f.api.UpdateContainerInstancesState(f.ctx, &ecssdk.UpdateContainerInstancesStateInput{
		Cluster: aws.String(clusterName), ContainerInstances: []string{f.instance("i-1").ARN}, Status: types.ContainerInstanceStatusActive,
	}); err != nil {
		t.Fatalf("UpdateContainerInstancesState(ACTIVE): %v", err)
	}
	f.checkTimeline("service:web", []step{
		{"the surviving task keeps running and the stopped one is replaced", time.Hour - time.Second, map[string][]string{
			"i-1": {"STOPPED/STOPPED", "RUNNING/RUNNING", "RUNNING/RUNNING"},
		}},
	})
}

// With DrainWaitsForProtection a protected service task holds the drain until
// its protection expires (UNVERIFIED behaviour, off by default; see
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection.html).
func TestDrainWaitsForProtectionWhenConfigured(t *testing.T) {
	tests := []struct {
		name   string
		wait   bool
		during []string
	}{
		{"by default protection does not hold a drain", false, []string{"STOPPED/STOPPED"}},
		{"when configured the protected task stays until expiry", true, []string{"RUNNING/RUNNING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{DrainWaitsForProtection: tt.wait})
			f.register("i-1", Resources{})
			f.register("i-2", Resources{})
			f.createService(ServiceSpec{Name: "web", DesiredCount: 1})
			if err := f.srv.SetTaskProtection(clusterName, f.tasksOn("i-1", "service:web")[0].ARN, start.Add(10*time.Minute)); err != nil {
				t.Fatal(err)
			}
			f.drain("i-1")
			f.checkTimeline("service:web", []step{
				{"during protection", 9 * time.Minute, map[string][]string{"i-1": tt.during}},
				{"after protection expires", time.Minute, map[string][]string{"i-1": {"STOPPED/STOPPED"}}},
			})
		})
	}
}
