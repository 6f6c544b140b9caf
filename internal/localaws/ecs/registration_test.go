package ecs

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// startAgent starts an agent on ec2ID in the fixture's cluster.
func (f *fixture) startAgent(ec2ID string, a Agent) {
	f.t.Helper()
	if err := f.srv.StartAgent(clusterName, ec2ID, a); err != nil {
		f.t.Fatalf("StartAgent(%s): %v", ec2ID, err)
	}
}

// advance moves the fake clock and lets the emulator apply what came due.
func (f *fixture) advance(d time.Duration) {
	f.clk.Advance(d)
	f.srv.Settle()
}

// listByEC2 is the launch gate's lookup: the cluster's container instances
// whose EC2 instance is ec2ID, optionally with one status.
func (f *fixture) listByEC2(ec2ID string, status types.ContainerInstanceStatus) []string {
	f.t.Helper()
	out, err := f.api.ListContainerInstances(f.ctx, &ecssdk.ListContainerInstancesInput{
		Cluster: aws.String(clusterName), Filter: aws.String("ec2InstanceId == " + ec2ID), Status: status,
	})
	if err != nil {
		f.t.Fatalf("ListContainerInstances(ec2InstanceId == %s, status %q): %v", ec2ID, status, err)
	}
	return out.ContainerInstanceArns
}

// instanceEvents summarises the "ECS Container Instance State Change" events
// of ec2ID as "status agentConnected=… running=… pending=… vN at".
func (f *fixture) instanceEvents(ec2ID string) []string {
	var out []string
	for _, e := range f.recorded(DetailTypeInstance) {
		d := e.Detail.(instanceDetail)
		if d.EC2InstanceID != ec2ID {
			continue
		}
		line := fmt.Sprintf("%s agentConnected=%v running=%d pending=%d v%d %s", d.Status, d.AgentConnected, d.RunningTasksCount, d.PendingTasksCount, d.Version, d.UpdatedAt)
		if d.StatusReason != "" {
			line += " (" + d.StatusReason + ")"
		}
		out = append(out, line)
	}
	return out
}

// An agent registers some time after its instance is up, then connects:
// until it registers, ListContainerInstances with ec2InstanceId == finds
// nothing, and only once it is ACTIVE and connected does the instance take
// tasks. Registration and the connection each send an "ECS Container Instance
// State Change" event with the documented detail, so a launch gate that waits
// for "ACTIVE and agentConnected" can complete on the event instead of
// polling. Without the delay a gate is never tested against the seconds in
// which the instance is up but unknown to ECS, the window the gate exists for.
//
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html
// (the first registration and the agent's connecting each cause an event),
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html
// ("Only instances connected to an agent can accept task placement requests").
func TestAgentRegistersAfterItsDelayThenConnects(t *testing.T) {
	f := newFixture(t, Options{})
	f.createService(ServiceSpec{Name: "log-agent", Daemon: true, CPU: 64, Memory: 64})
	f.startAgent("i-1", Agent{RegisterAfter: 30 * time.Second, ConnectAfter: 5 * time.Second})

	f.advance(29 * time.Second)
	if got := f.listByEC2("i-1", ""); len(got) != 0 {
		t.Fatalf("1s before the agent registers: ListContainerInstances found %v, want nothing", got)
	}
	if got := f.instanceEvents("i-1"); len(got) != 0 {
		t.Fatalf("1s before the agent registers: events %v, want none", got)
	}

	f.advance(time.Second)
	arns := f.listByEC2("i-1", "")
	if len(arns) != 1 {
		t.Fatalf("once the agent registered: ListContainerInstances found %v, want one instance", arns)
	}
	if got := f.describe("i-1"); aws.ToString(got.Status) != "ACTIVE" || got.AgentConnected || got.RegisteredAt == nil || !got.RegisteredAt.Equal(start.Add(30*time.Second)) {
		t.Errorf("registered, not yet connected: got status %s, agentConnected %v, registeredAt %v; want ACTIVE, false, %v",
			aws.ToString(got.Status), got.AgentConnected, got.RegisteredAt, start.Add(30*time.Second))
	}
	if got := f.tasksOn("i-1", ""); len(got) != 0 {
		t.Errorf("registered, not yet connected: tasks %v, want none placed", statuses(got))
	}

	f.advance(5 * time.Second)
	if got := f.describe("i-1"); !got.AgentConnected {
		t.Errorf("5s after registering: agentConnected false, want true")
	}
	want := []string{
		"ACTIVE agentConnected=false running=0 pending=0 v1 2026-11-24T05:00:30.000Z",
		"ACTIVE agentConnected=true running=0 pending=0 v2 2026-11-24T05:00:35.000Z",
		// The daemon's task placed as soon as the instance could take it.
		"ACTIVE agentConnected=true running=1 pending=1 v3 2026-11-24T05:00:35.000Z",
	}
	if diff := cmp.Diff(want, f.instanceEvents("i-1")); diff != "" {
		t.Errorf("container instance events (-want +got):\n%s", diff)
	}
	e := f.recorded(DetailTypeInstance)[1]
	d := e.Detail.(instanceDetail)
	if e.Source != "aws.ecs" || len(e.Resources) != 1 || e.Resources[0] != arns[0] || d.ContainerInstanceArn != arns[0] ||
		d.ClusterArn != "arn:aws:ecs:us-east-1:123456789012:cluster/"+clusterName || d.RegisteredAt != "2026-11-24T05:00:30.000Z" {
		t.Errorf("connect event: source %s, resources %v, containerInstanceArn %s, clusterArn %s, registeredAt %s; want aws.ecs, [%s], the same ARN, the cluster's ARN and the registration time",
			e.Source, e.Resources, d.ContainerInstanceArn, d.ClusterArn, d.RegisteredAt, arns[0])
	}
}

// A registration that fails must look as it does on AWS: the container
// instance is listed REGISTERING while its trunk interface is attached, then
// REGISTRATION_FAILED with the reason in statusReason, and it never takes a
// task; otherwise a launch gate would wait out its deadline on an instance
// ECS already gave up on, instead of abandoning it at once.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html (status:
// "any newly registered container instance will transition to a REGISTERING
// status ... If the registration fails, the instance will transition to a
// REGISTRATION_FAILED status ... see the reason for failure in the
// statusReason parameter").
func TestRegistrationFailsAsECSReportsIt(t *testing.T) {
	const reason = "no trunk for you"
	for _, tc := range []struct {
		name       string
		agent      Agent
		failLater  bool // FailRegistration while the agent has not registered yet
		wantStates []string
	}{
		{
			name:       "REGISTERING, then ACTIVE",
			agent:      Agent{RegisterAfter: 10 * time.Second, RegisteringFor: 20 * time.Second},
			wantStates: []string{"REGISTERING agentConnected=true running=0 pending=0 v1 2026-11-24T05:00:10.000Z", "ACTIVE agentConnected=true running=0 pending=0 v2 2026-11-24T05:00:30.000Z"},
		},
		{
			name:       "REGISTERING, then REGISTRATION_FAILED",
			agent:      Agent{RegisterAfter: 10 * time.Second, RegisteringFor: 20 * time.Second, FailReason: reason},
			wantStates: []string{"REGISTERING agentConnected=true running=0 pending=0 v1 2026-11-24T05:00:10.000Z", "REGISTRATION_FAILED agentConnected=true running=0 pending=0 v2 2026-11-24T05:00:30.000Z (" + reason + ")"},
		},
		{
			name:       "failed at once",
			agent:      Agent{RegisterAfter: 10 * time.Second, FailReason: reason},
			wantStates: []string{"REGISTRATION_FAILED agentConnected=true running=0 pending=0 v1 2026-11-24T05:00:10.000Z (" + reason + ")"},
		},
		{
			name:       "failed by FailRegistration before the agent registered",
			agent:      Agent{RegisterAfter: 10 * time.Second, RegisteringFor: 20 * time.Second},
			failLater:  true,
			wantStates: []string{"REGISTERING agentConnected=true running=0 pending=0 v1 2026-11-24T05:00:10.000Z", "REGISTRATION_FAILED agentConnected=true running=0 pending=0 v2 2026-11-24T05:00:30.000Z (" + DefaultFailReason + ")"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.createService(ServiceSpec{Name: "log-agent", Daemon: true, CPU: 64, Memory: 64})
			f.startAgent("i-1", tc.agent)
			if tc.failLater {
				if err := f.srv.FailRegistration("i-1", ""); err != nil {
					t.Fatal(err)
				}
			}
			f.advance(10 * time.Second)
			if tc.agent.RegisteringFor > 0 {
				if got := f.listByEC2("i-1", types.ContainerInstanceStatusRegistering); len(got) != 1 {
					t.Errorf("while REGISTERING: ListContainerInstances(status REGISTERING) found %v, want the instance", got)
				}
				out, err := f.api.UpdateContainerInstancesState(f.ctx, &ecssdk.UpdateContainerInstancesStateInput{
					Cluster: aws.String(clusterName), ContainerInstances: []string{f.instance("i-1").ARN}, Status: types.ContainerInstanceStatusDraining,
				})
				if err != nil || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "REGISTERING" {
					t.Errorf("draining a REGISTERING instance: got err %v, failures %+v; want one failure with reason REGISTERING", err, out)
				}
			}
			f.advance(20 * time.Second)

			if diff := cmp.Diff(tc.wantStates, f.instanceEvents("i-1")[:len(tc.wantStates)]); diff != "" {
				t.Errorf("container instance events (-want +got):\n%s", diff)
			}
			got := f.describe("i-1")
			wantStatus, wantReason := "ACTIVE", ""
			if tc.agent.FailReason != "" || tc.failLater {
				wantStatus, wantReason = "REGISTRATION_FAILED", tc.agent.FailReason
				if tc.failLater {
					wantReason = DefaultFailReason
				}
				if got := f.listByEC2("i-1", types.ContainerInstanceStatusRegistrationFailed); len(got) != 1 {
					t.Errorf("ListContainerInstances(status REGISTRATION_FAILED) found %v, want the instance", got)
				}
				if tasks := f.tasksOn("i-1", ""); len(tasks) != 0 {
					t.Errorf("tasks on the failed instance: %v, want none", statuses(tasks))
				}
			} else if tasks := f.tasksOn("i-1", "service:log-agent"); len(tasks) != 1 {
				t.Errorf("daemon tasks once ACTIVE: %v, want one", statuses(tasks))
			}
			if aws.ToString(got.Status) != wantStatus || aws.ToString(got.StatusReason) != wantReason {
				t.Errorf("DescribeContainerInstances: got status %s, statusReason %q; want %s, %q",
					aws.ToString(got.Status), aws.ToString(got.StatusReason), wantStatus, wantReason)
			}
		})
	}

	t.Run("FailRegistration of an ACTIVE instance is an error", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.register("i-1", Resources{})
		if err := f.srv.FailRegistration("i-1", reason); err == nil {
			t.Errorf("FailRegistration of an ACTIVE instance: got no error")
		}
	})
}

// An EC2 instance that stops (into a warm pool) and starts again must come
// back as the same container instance: its agent re-registers with the ARN it
// checkpointed, so the status it had (DRAINING, if something drained it) and
// its custom attributes are still there, and the reconnection sends an event.
// While it is stopped its agent is disconnected and its tasks are STOPPED.
// Otherwise a launch gate that re-activates an instance it drained before the
// pool would look for a new ARN that never comes.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html
// (DRAINING lasts "until it is activated again or deleted"),
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html
// ("When you stop a container instance, the tasks that are running on it are
// transitioned to the STOPPED status"; the agent connecting is an event).
func TestStoppedInstanceComesBackAsTheSameContainerInstance(t *testing.T) {
	f := newFixture(t, Options{})
	f.startAgent("i-1", Agent{Attributes: map[string]string{"role": "web"}})
	arn := f.instance("i-1").ARN
	f.runTask("i-1", TaskSpec{Family: "job", CPU: 128, Memory: 128})
	if err := f.srv.SetAttributes("i-1", map[string]string{"ecs-drainer.chain": "x"}); err != nil {
		t.Fatal(err)
	}
	f.drain("i-1")

	f.advance(time.Minute)
	f.srv.StopEC2Instance("i-1")
	stopped := f.describe("i-1")
	if stopped.AgentConnected || aws.ToString(stopped.Status) != "DRAINING" || stopped.RunningTasksCount != 0 {
		t.Errorf("stopped: got agentConnected %v, status %s, runningTasksCount %d; want false, DRAINING, 0",
			stopped.AgentConnected, aws.ToString(stopped.Status), stopped.RunningTasksCount)
	}
	if got := statuses(f.tasksOn("i-1", "")); !cmp.Equal(got, []string{"STOPPED/STOPPED"}) {
		t.Errorf("tasks of the stopped instance: got %v, want [STOPPED/STOPPED]", got)
	}

	f.advance(time.Hour)
	before := len(f.instanceEvents("i-1"))
	f.startAgent("i-1", Agent{RegisterAfter: 20 * time.Second, Attributes: map[string]string{"role": "web"}})
	f.advance(19 * time.Second)
	if f.describe("i-1").AgentConnected {
		t.Fatalf("1s before the agent re-registers: agentConnected true, want false")
	}
	f.advance(time.Second)
	back := f.describe("i-1")
	attrs := map[string]string{}
	for _, a := range back.Attributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	if aws.ToString(back.ContainerInstanceArn) != arn || aws.ToString(back.Status) != "DRAINING" || !back.AgentConnected ||
		attrs["role"] != "web" || attrs["ecs-drainer.chain"] != "x" {
		t.Errorf("after the restart: got ARN %s, status %s, agentConnected %v, attributes %v; want %s, DRAINING, true, role and the chain mark kept",
			aws.ToString(back.ContainerInstanceArn), aws.ToString(back.Status), back.AgentConnected, attrs, arn)
	}
	if got := f.instanceEvents("i-1")[before:]; len(got) != 1 || got[0] != fmt.Sprintf("DRAINING agentConnected=true running=0 pending=0 v%d 2026-11-24T06:01:20.000Z", back.Version) {
		t.Errorf("events of the restart: got %v, want one DRAINING agentConnected=true at 06:01:20", got)
	}
	if got := f.listByEC2("i-1", ""); len(got) != 1 || got[0] != arn {
		t.Errorf("ListContainerInstances after the restart: got %v, want [%s] only", got, arn)
	}
}

// An agent must never register for an instance that is gone: terminated or
// stopped before its agent registered, it stays unknown to ECS, or a launch
// gate would see a container instance appear for an instance Auto Scaling
// already replaced.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterContainerInstance.html
func TestAgentOfAGoneInstanceNeverRegisters(t *testing.T) {
	for _, tc := range []struct {
		name string
		gone func(*Server, string)
	}{
		{"terminated", (*Server).DeregisterEC2Instance},
		{"stopped", (*Server).StopEC2Instance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.startAgent("i-1", Agent{RegisterAfter: time.Minute})
			f.advance(30 * time.Second)
			tc.gone(f.srv, "i-1")
			f.advance(time.Hour)
			if _, ok := f.srv.Instance("i-1"); ok {
				t.Errorf("an hour after the instance was %s before its agent registered: the instance is registered", tc.name)
			}
		})
	}
}
