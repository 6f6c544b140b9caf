package ecs

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// describe reads one container instance over the wire, as the drainer does.
func (f *fixture) describe(ec2ID string) types.ContainerInstance {
	f.t.Helper()
	out, err := f.api.DescribeContainerInstances(f.ctx, &ecssdk.DescribeContainerInstancesInput{
		Cluster: aws.String(clusterName), ContainerInstances: []string{f.instance(ec2ID).ARN},
	})
	if err != nil || len(out.ContainerInstances) != 1 {
		f.t.Fatalf("DescribeContainerInstances(%s): err %v, failures %v", ec2ID, err, out.Failures)
	}
	return out.ContainerInstances[0]
}

func (f *fixture) disconnect(ec2ID string) {
	f.t.Helper()
	if err := f.srv.DisconnectAgent(ec2ID); err != nil {
		f.t.Fatalf("DisconnectAgent(%s): %v", ec2ID, err)
	}
}

func (f *fixture) reconnect(ec2ID string) {
	f.t.Helper()
	if err := f.srv.ReconnectAgent(ec2ID); err != nil {
		f.t.Fatalf("ReconnectAgent(%s): %v", ec2ID, err)
	}
}

// Each change of agentConnected must show in DescribeContainerInstances and
// send an "ECS Container Instance State Change" event carrying it, with the
// next version, or a drainer that follows events would never see an agent
// come back. Repeating a change sends nothing: nothing changed.
//
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html
// ("The Amazon ECS container agent connects or disconnects ... changes the
// agentConnected status"), and
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html (agentConnected).
func TestAgentConnectionChangesSendEvents(t *testing.T) {
	f := newFixture(t, Options{})
	arn := f.register("i-1", Resources{})

	type seen struct {
		Connected bool
		Version   int64
		Resource  string
	}
	last := func() seen {
		events := f.recorded(DetailTypeInstance)
		e := events[len(events)-1]
		d := e.Detail.(instanceDetail)
		return seen{d.AgentConnected, d.Version, e.Resources[0]}
	}
	start := len(f.recorded(DetailTypeInstance))
	registered := f.instance("i-1").Version

	f.clk.Advance(time.Minute)
	f.disconnect("i-1")
	if got := f.describe("i-1"); got.AgentConnected || aws.ToString(got.Status) != "ACTIVE" {
		t.Errorf("after DisconnectAgent: got agentConnected %v, status %s; want false, ACTIVE", got.AgentConnected, aws.ToString(got.Status))
	}
	if diff := cmp.Diff(seen{false, registered + 1, arn}, last()); diff != "" {
		t.Errorf("event after DisconnectAgent (-want +got):\n%s", diff)
	}
	f.disconnect("i-1")

	f.clk.Advance(time.Minute)
	f.reconnect("i-1")
	if got := f.describe("i-1"); !got.AgentConnected {
		t.Errorf("after ReconnectAgent: got agentConnected false, want true")
	}
	if diff := cmp.Diff(seen{true, registered + 2, arn}, last()); diff != "" {
		t.Errorf("event after ReconnectAgent (-want +got):\n%s", diff)
	}
	f.reconnect("i-1")
	if got := len(f.recorded(DetailTypeInstance)) - start; got != 2 {
		t.Errorf("instance events for disconnect, disconnect, reconnect, reconnect: got %d, want 2", got)
	}
	if got := f.recorded(DetailTypeInstance)[start].Detail.(instanceDetail).UpdatedAt; got != "2026-11-24T05:01:00.000Z" {
		t.Errorf("disconnect event updatedAt = %s, want the fake clock's 2026-11-24T05:01:00.000Z", got)
	}

	t.Run("an unknown or deregistered instance is an error", func(t *testing.T) {
		f.register("i-gone", Resources{})
		f.srv.DeregisterEC2Instance("i-gone")
		for _, id := range []string{"i-unknown", "i-gone"} {
			if err := f.srv.DisconnectAgent(id); err == nil {
				t.Errorf("DisconnectAgent(%s): got no error", id)
			}
			if err := f.srv.ReconnectAgent(id); err == nil {
				t.Errorf("ReconnectAgent(%s): got no error", id)
			}
		}
	})
}

// ECS must place nothing on an instance whose agent is disconnected, or a
// drain would wait on tasks that can never start; once the agent is back the
// instance takes tasks again.
//
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html:
// "Only instances connected to an agent can accept task placement requests."
func TestDisconnectedInstanceTakesNoTasks(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.register("i-2", Resources{})
	f.disconnect("i-1")

	f.createService(ServiceSpec{Name: "web", DesiredCount: 4})
	if got, want := len(f.tasksOn("i-1", "")), 0; got != want {
		t.Errorf("service tasks on the disconnected i-1: got %d, want %d", got, want)
	}
	if got, want := len(f.tasksOn("i-2", "")), 4; got != want {
		t.Errorf("service tasks on i-2: got %d, want %d", got, want)
	}
	if _, err := f.srv.RunTask(clusterName, "i-1", TaskSpec{Family: "batch"}); err == nil {
		t.Errorf("RunTask on the disconnected i-1: got no error, want a refusal")
	}

	f.reconnect("i-1")
	f.createService(ServiceSpec{Name: "api", DesiredCount: 2})
	if got, want := len(f.tasksOn("i-1", "service:api")), 1; got != want {
		t.Errorf("api tasks on i-1 once reconnected (spread by instance, one each): got %d, want %d", got, want)
	}
}

// While the agent is disconnected ECS can decide but not learn: draining
// gives the instance's service tasks desiredStatus STOPPED (so they leave
// runningTasksCount at once), yet their lastStatus stays RUNNING, whatever
// the stop delay, until the agent reconnects, is told to stop them, and
// reports them STOPPED a stop delay later. A drainer that counts only
// runningTasksCount would call this instance empty while its containers
// still run.
//
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html
// (draining stops service tasks), https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html
// (the agent reports task state changes, SubmitTaskStateChange), and
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html
// (runningTasksCount counts desiredStatus RUNNING).
func TestDrainWithDisconnectedAgentStopsOnlyOnReconnect(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 2, StartDelay: 10 * time.Second, StopDelay: 30 * time.Second})
	f.clk.Advance(10 * time.Second)
	f.register("i-2", Resources{})
	f.disconnect("i-1")
	f.drain("i-1")

	f.checkTimeline("service:web", []step{
		{"right after DRAINING, replacements are pending on i-2", 0, map[string][]string{
			"i-1": {"RUNNING/RUNNING", "RUNNING/RUNNING"},
			"i-2": {"PENDING/RUNNING", "PENDING/RUNNING"},
		}},
		{"once the replacements run, ECS tells the old tasks to stop", 10 * time.Second, map[string][]string{
			"i-1": {"RUNNING/STOPPED", "RUNNING/STOPPED"},
			"i-2": {"RUNNING/RUNNING", "RUNNING/RUNNING"},
		}},
		{"well past the stop delay, nobody has reported them stopped", time.Hour, map[string][]string{
			"i-1": {"RUNNING/STOPPED", "RUNNING/STOPPED"},
		}},
	})
	if running, _ := f.counts("i-1"); running != 0 {
		t.Errorf("runningTasksCount on the draining, disconnected i-1: got %d, want 0 (it counts desiredStatus)", running)
	}
	if got := f.listTasks(ecssdk.ListTasksInput{ContainerInstance: aws.String(f.instance("i-1").ARN), DesiredStatus: types.DesiredStatusStopped}); len(got) != 2 {
		t.Errorf("ListTasks(desiredStatus STOPPED) on i-1: got %d tasks, want 2", len(got))
	}

	reconnectedAt := f.clk.Now()
	f.reconnect("i-1")
	f.checkTimeline("service:web", []step{
		{"the reconnected agent has just begun stopping them", 29 * time.Second, map[string][]string{
			"i-1": {"RUNNING/STOPPED", "RUNNING/STOPPED"},
		}},
		{"a stop delay after the reconnection they are STOPPED", time.Second, map[string][]string{
			"i-1": {"STOPPED/STOPPED", "STOPPED/STOPPED"},
		}},
	})
	for _, k := range f.tasksOn("i-1", "service:web") {
		if want := reconnectedAt.Add(30 * time.Second); !k.StoppedAt.Equal(want) {
			t.Errorf("task %s stoppedAt = %v, want %v (a stop delay after the reconnection)", k.ARN, k.StoppedAt, want)
		}
	}
}

// What the host did while the agent was away is reported when it reconnects,
// stamped with that moment: a stop begun before the disconnect, and a
// container that exited on its own.
//
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html
// ("The Amazon ECS container agent monitors the state of tasks on your
// container instances, and it reports any state changes").
func TestChangesWhileDisconnectedAreReportedOnReconnect(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	stopped := f.runTask("i-1", TaskSpec{Family: "stopped", StopDelay: 30 * time.Second})
	exiting := f.runTask("i-1", TaskSpec{Family: "exiting", RunFor: time.Minute})
	if _, err := f.api.StopTask(f.ctx, &ecssdk.StopTaskInput{Cluster: aws.String(clusterName), Task: aws.String(stopped)}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	f.clk.Advance(5 * time.Second)
	f.disconnect("i-1")
	f.clk.Advance(10 * time.Minute)

	for _, arn := range []string{stopped, exiting} {
		if got := aws.ToString(f.describeTask(arn).LastStatus); got != "RUNNING" {
			t.Errorf("task %s while the agent is away: got lastStatus %s, want RUNNING", arn, got)
		}
	}
	reconnectedAt := f.clk.Now()
	f.reconnect("i-1")
	for _, arn := range []string{stopped, exiting} {
		got := f.describeTask(arn)
		if aws.ToString(got.LastStatus) != "STOPPED" || !aws.ToTime(got.StoppedAt).Equal(reconnectedAt) {
			t.Errorf("task %s after the reconnection: got %s stopped at %v, want STOPPED at %v",
				arn, aws.ToString(got.LastStatus), aws.ToTime(got.StoppedAt), reconnectedAt)
		}
	}
	if got := f.describeTask(exiting).StopCode; got != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("the exited task's stopCode: got %s, want EssentialContainerExited", got)
	}
}

// Terminating the EC2 instance of a disconnected agent must not deregister
// it: the drainer then still finds the instance, ACTIVE or DRAINING with its
// tasks as last reported, and must not take "not found" for granted. Its
// agent can never come back.
//
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterContainerInstance.html:
// "stopped container instances or instances with disconnected agents aren't
// automatically deregistered when terminated".
func TestTerminatingADisconnectedInstanceDoesNotDeregisterIt(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	task := f.runTask("i-1", TaskSpec{Family: "batch"})
	f.disconnect("i-1")
	f.srv.DeregisterEC2Instance("i-1")

	got := f.describe("i-1")
	if aws.ToString(got.Status) != "ACTIVE" || got.AgentConnected || got.RunningTasksCount != 1 {
		t.Errorf("after terminating its EC2 instance: got status %s, agentConnected %v, running %d; want ACTIVE, false, 1",
			aws.ToString(got.Status), got.AgentConnected, got.RunningTasksCount)
	}
	out, err := f.api.ListContainerInstances(f.ctx, &ecssdk.ListContainerInstancesInput{
		Cluster: aws.String(clusterName), Filter: aws.String("ec2InstanceId == i-1"),
	})
	if err != nil || len(out.ContainerInstanceArns) != 1 {
		t.Errorf("ListContainerInstances(ec2InstanceId == i-1): got %v (err %v), want the instance still listed", out.ContainerInstanceArns, err)
	}
	if got := aws.ToString(f.describeTask(task).LastStatus); got != "RUNNING" {
		t.Errorf("its task: got lastStatus %s, want RUNNING (as last reported)", got)
	}
	if err := f.srv.ReconnectAgent("i-1"); err == nil {
		t.Errorf("ReconnectAgent after the EC2 instance was terminated: got no error")
	}
}
