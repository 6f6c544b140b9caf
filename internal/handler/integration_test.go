package handler_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
)

var defaultPolicy = drain.Policy{PollInterval: 30 * time.Second, MaxDrain: time.Hour, OnTimeout: "continue", StopGrace: 2 * time.Minute, StaleAfter: 15 * time.Minute}

var web = ecs.ServiceSpec{Name: "web", DesiredCount: 4, CPU: 256, Memory: 512, StopDelay: 45 * time.Second}

func (r *rig) service(spec ecs.ServiceSpec) {
	r.t.Helper()
	if err := r.aws.ECS.CreateService(cluster, spec); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) runTask(instanceID string, spec ecs.TaskSpec) string {
	r.t.Helper()
	arn, err := r.aws.ECS.RunTask(cluster, instanceID, spec)
	if err != nil {
		r.t.Fatal(err)
	}
	return arn
}

func (r *rig) tasksOn(instanceID string) (live int) {
	for _, task := range r.aws.ECS.Tasks(cluster) {
		if task.EC2InstanceID == instanceID && task.LastStatus != "STOPPED" {
			live++
		}
	}
	return live
}

// An instance with nothing on it must not wait for a poll: released at once.
func TestReleasesAnEmptyInstanceAtOnce(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.terminate(ids[0])
	took := r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
	if took > 5*time.Second {
		t.Errorf("empty instance released after %v, want within the first hop", took)
	}
	if got := r.outcomes(); got["drained"] != 1 || got["requeued"] != 0 {
		t.Errorf("outcomes = %v, want one drained and no re-queue", got)
	}
	if got := r.aws.ECS.Operations()["UpdateContainerInstancesState"]; got != 1 {
		t.Errorf("UpdateContainerInstancesState calls = %d, want 1 (DRAINING before counting)", got)
	}
}

// Service tasks move to the other instance; the action completes only once
// every task on the drained instance has reached STOPPED.
func TestWaitsForServiceTasksToBeReplaced(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.service(web)
	if r.tasksOn(ids[0]) == 0 {
		t.Fatalf("setup: no web task placed on %s", ids[0])
	}
	r.terminate(ids[0])
	took := r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
	if took < web.StopDelay {
		t.Errorf("released after %v, before the tasks' %v stop delay could pass", took, web.StopDelay)
	}
	if got := r.tasksOn(ids[1]); got != web.DesiredCount {
		t.Errorf("tasks running on %s = %d, want all %d web tasks replaced there", ids[1], got, web.DesiredCount)
	}
}

// A task told to stop (desired STOPPED) but still shutting down (last
// RUNNING) is invisible to runningTasksCount and to ListTasks' default view;
// drainers that trusted those released instances early (aws-cdk#13506).
func TestWaitsForTasksThatAreStillStopping(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	slow := web
	slow.StopDelay = 5 * time.Minute
	r.service(slow)
	r.terminate(ids[0])
	r.run(2 * time.Minute)

	inst, _ := r.aws.ECS.Instance(ids[0])
	if inst.RunningTasksCount != 0 || r.tasksOn(ids[0]) == 0 {
		t.Fatalf("setup: runningTasksCount %d, live tasks %d; want 0 counted and some still stopping", inst.RunningTasksCount, r.tasksOn(ids[0]))
	}
	if a := r.action(ids[0]); !a.Active {
		t.Fatalf("action completed at %v while tasks were still stopping", a.Ended)
	}
	r.run(time.Hour)
	a := r.assertReleasedCleanly(ids[0])
	if held := a.Ended.Sub(a.Started); held < slow.StopDelay {
		t.Errorf("held %v, want at least the %v stop delay", held, slow.StopDelay)
	}
}

// Draining does not touch standalone tasks (ECS docs): the drain waits for
// them to end. The 10 minutes are longer than the 300 s heartbeat timeout,
// so this also needs heartbeats.
func TestWaitsForAStandaloneTaskToEnd(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.runTask(ids[0], ecs.TaskSpec{Family: "nightly-job", CPU: 256, Memory: 512, RunFor: 10 * time.Minute})
	r.terminate(ids[0])
	r.run(time.Hour)
	a := r.assertReleasedCleanly(ids[0])
	if held := a.Ended.Sub(a.Started); held < 10*time.Minute {
		t.Errorf("held %v, want the standalone task's 10 minutes", held)
	}
}

// Daemon tasks stop last, after every other task on the instance; the drain
// waits for them too.
func TestWaitsForDaemonTasksWhichStopLast(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.service(web)
	r.service(ecs.ServiceSpec{Name: "log-shipper", Daemon: true, CPU: 128, Memory: 128, StopDelay: 20 * time.Second})
	r.terminate(ids[0])
	r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
	var lastService, daemon time.Time
	for _, task := range r.aws.ECS.Tasks(cluster) {
		if task.EC2InstanceID != ids[0] {
			continue
		}
		if task.Group == "service:log-shipper" {
			daemon = task.StoppedAt
		} else if task.StoppedAt.After(lastService) {
			lastService = task.StoppedAt
		}
	}
	if daemon.IsZero() || daemon.Before(lastService) {
		t.Errorf("daemon task stopped at %v, before the last service task at %v", daemon, lastService)
	}
}

// DescribeTasks takes at most 100 tasks: a drainer that sent them all at
// once failed on big instances.
func TestDrainsMoreThanAHundredTasks(t *testing.T) {
	r := newRig(t, defaultPolicy)
	big := ecs.Resources{CPU: 16384, Memory: 65536}
	ids := r.group(1, true, big, 300)
	r.service(ecs.ServiceSpec{Name: "workers", DesiredCount: 150, CPU: 16, Memory: 64, StopDelay: 40 * time.Second})
	if got := r.tasksOn(ids[0]); got != 150 {
		t.Fatalf("setup: %d tasks on %s, want 150", got, ids[0])
	}
	if _, err := r.asg.SetDesiredCapacity(context.Background(), &sdkautoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(group), DesiredCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	r.aws.Settle()
	r.terminate(ids[0])
	r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
	if got := r.aws.ECS.Operations()["DescribeTasks"]; got < 2 {
		t.Errorf("DescribeTasks calls = %d, want at least 2 for 150 tasks", got)
	}
}

// An instance that never registered with the cluster has nothing to drain:
// it is released at once, not left to wait out the hook (aws-cdk#6867,
// aws-node-termination-handler#575).
func TestReleasesAnInstanceNotInTheClusterAtOnce(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(1, false, ecs.Resources{}, 300)
	r.terminate(ids[0])
	took := r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
	if took > 5*time.Second {
		t.Errorf("released after %v, want at once", took)
	}
	if got := r.outcomes()["not_registered"]; got != 1 {
		t.Errorf("not_registered outcomes = %d, want 1", got)
	}
}

// EventBridge and SQS deliver at least once: a duplicate event must not
// complete the action twice or fail, and both chains must end.
func TestDuplicateEventCompletesTheActionOnce(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.service(web)
	r.terminate(ids[0])
	event := r.lastEventBody()
	r.run(3 * time.Second) // the first delivery's hop
	r.send(event)
	r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
	if v, inFlight, delayed := r.aws.SQS.Counts(r.dlqURL); v+inFlight+delayed != 0 {
		t.Errorf("DLQ holds %d messages, want none", v+inFlight+delayed)
	}
	for _, l := range r.logLines() {
		if l["level"] == "ERROR" || l["level"] == "WARN" {
			t.Errorf("duplicate caused a %s line: %v", l["level"], l)
		}
	}
	if got := r.outcomes()["superseded"]; got < 1 {
		t.Errorf("superseded outcomes = %d, want the duplicate's chain ended", got)
	}
}

// Two deliveries of one event in one batch would start two chains at the
// same moment, neither seeing the other's mark: the second is ignored, and
// the drain runs once.
func TestADuplicateEventInTheSameBatchIsIgnored(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.service(web)
	r.terminate(ids[0])
	r.send(r.lastEventBody())
	r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
	ignored := 0
	for _, l := range r.logLines() {
		if l["msg"] == "record ignored" && l["reason"] == "an earlier record of the batch is the same lifecycle event" {
			ignored++
		}
	}
	if ignored != 1 || r.outcomes()["superseded"] != 0 {
		t.Errorf("%d duplicates ignored, %d chains superseded; want the duplicate ignored, no second chain", ignored, r.outcomes()["superseded"])
	}
}

// Duplicates must not fork chains that live on: however many copies of a
// message are delivered, after one more round of hops a single chain is
// left.
func TestForkedChainsConvergeToOne(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.runTask(ids[0], ecs.TaskSpec{Family: "job", CPU: 256, Memory: 512, RunFor: 10 * time.Minute})
	r.terminate(ids[0])
	r.run(40 * time.Second) // the first hop has re-queued
	msgs, err := r.aws.SQS.Messages(r.queueURL)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("queue holds %d messages (%v), want the one re-queued", len(msgs), err)
	}
	for range 3 { // SQS delivering the same message four times
		r.send(msgs[0].Body)
	}
	r.run(2 * time.Minute)
	if got := r.queued(); got != 1 {
		t.Fatalf("queue holds %d messages two minutes after the fork, want 1 chain", got)
	}
	r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
}

func (r *rig) queued() int {
	v, inFlight, delayed := r.aws.SQS.Counts(r.queueURL)
	return v + inFlight + delayed
}

// A chain lost outright (its message gone) is found by the reconciler's
// sweep once overdue, and its drain finishes; the sweep leaves a live
// chain alone.
func TestReconcilerRestartsALostChain(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.runTask(ids[0], ecs.TaskSpec{Family: "job", CPU: 256, Memory: 512, RunFor: 30 * time.Minute})
	r.terminate(ids[0])
	r.run(40 * time.Second)
	scheduled := testdataBody(t, "scheduled-event.json")
	before := r.queued()
	r.invokeDirect(scheduled)
	if got := r.queued(); got != before {
		t.Fatalf("a sweep over a live chain queued %d restarts, want none", got-before)
	}
	// The chain's message is lost: received and deleted by no one's hop.
	for r.queued() > 0 {
		r.clk.Advance(time.Second)
		got, _ := r.aws.SQS.Receive(context.Background(), r.queueURL, 10, 0)
		for _, m := range got {
			_ = r.aws.SQS.Delete(r.queueURL, m.ReceiptHandle)
		}
	}
	// Overdue by more than a quarter of the 300 s heartbeat timeout, before
	// the action's heartbeat timeout runs out.
	r.clk.Advance(2 * time.Minute)
	r.invokeDirect(scheduled)
	r.run(time.Hour)
	a := r.assertReleasedCleanly(ids[0])
	if held := a.Ended.Sub(a.Started); held < 30*time.Minute {
		t.Errorf("held %v, want the job's 30 minutes", held)
	}
}

func testdataBody(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../lifecycle/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// invokeDirect invokes the handler with a raw EventBridge event, as a rule
// targeting the function does.
func (r *rig) invokeDirect(body string) {
	r.t.Helper()
	if _, err := r.h.Invoke(context.Background(), json.RawMessage(body)); err != nil {
		r.t.Fatalf("Invoke(%s) error: %v", body[:40], err)
	}
}

// The timeout policy chosen per group: stop-tasks stops what is left and
// waits for it; abandon completes with ABANDON.
func TestTimeoutPolicies(t *testing.T) {
	p := defaultPolicy
	p.MaxDrain = 5 * time.Minute
	t.Run("stop-tasks stops the task and releases once it stopped", func(t *testing.T) {
		r := newRig(t, p)
		r.onTimeout = "stop-tasks"
		ids := r.group(2, true, ecs.Resources{}, 300)
		arn := r.runTask(ids[0], ecs.TaskSpec{Family: "forever", CPU: 256, Memory: 512, StopDelay: 20 * time.Second})
		r.terminate(ids[0])
		r.run(time.Hour)
		a := r.assertReleasedCleanly(ids[0])
		if held := a.Ended.Sub(a.Started); held < 5*time.Minute+20*time.Second {
			t.Errorf("held %v, want the deadline plus the task's 20 s stop", held)
		}
		for _, task := range r.aws.ECS.Tasks(cluster) {
			if task.ARN == arn && !strings.Contains(task.StoppedReason, "ecs-drainer") {
				t.Errorf("stopped reason %q, want it to name the drainer", task.StoppedReason)
			}
		}
	})
	t.Run("abandon completes with ABANDON", func(t *testing.T) {
		r := newRig(t, p)
		r.onTimeout = "abandon"
		ids := r.group(2, true, ecs.Resources{}, 300)
		r.runTask(ids[0], ecs.TaskSpec{Family: "forever", CPU: 256, Memory: 512})
		r.terminate(ids[0])
		r.run(time.Hour)
		a := r.action(ids[0])
		if a.End != "completed" || a.Result != "ABANDON" {
			t.Fatalf("action end %q result %q, want completed ABANDON", a.End, a.Result)
		}
		if got := r.outcomes()["deadline_abandoned"]; got != 1 {
			t.Errorf("deadline_abandoned outcomes = %d, want 1", got)
		}
	})
}

// lastEventBody is the body of the lifecycle event delivered last: the
// duplicate EventBridge would send.
func (r *rig) lastEventBody() string {
	r.t.Helper()
	msgs, err := r.aws.SQS.Messages(r.queueURL)
	if err != nil {
		r.t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.Contains(msgs[i].Body, `"detail-type"`) {
			return msgs[i].Body
		}
	}
	r.t.Fatal("no lifecycle event on the queue")
	return ""
}

// When someone else completed the action first, the drain ends at its first
// check without touching the instance, and without an error.
func TestActionAlreadyCompletedEndsTheDrain(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.service(web)
	if _, err := r.asg.TerminateInstanceInAutoScalingGroup(context.Background(), &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(ids[0]), ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.asg.CompleteLifecycleAction(context.Background(), &sdkautoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String(group), LifecycleHookName: aws.String(hook), InstanceId: aws.String(ids[0]),
		LifecycleActionResult: aws.String("CONTINUE")}); err != nil {
		t.Fatal(err)
	}
	r.deliverEvents()
	r.run(time.Hour)
	if got := r.outcomes(); got["action_gone"] != 1 || len(got) != 1 {
		t.Errorf("outcomes = %v, want exactly one action_gone", got)
	}
	if got := r.aws.ECS.Operations()["UpdateContainerInstancesState"]; got != 0 {
		t.Errorf("UpdateContainerInstancesState calls = %d, want 0 for an action already gone", got)
	}
}

// A drain that cannot finish is released at the deadline, loudly: WARN,
// naming the task left.
func TestDeadlineReleasesLoudly(t *testing.T) {
	p := defaultPolicy
	p.MaxDrain = 5 * time.Minute
	r := newRig(t, p)
	ids := r.group(2, true, ecs.Resources{}, 300)
	arn := r.runTask(ids[0], ecs.TaskSpec{Family: "forever", CPU: 256, Memory: 512})
	r.terminate(ids[0])
	r.run(time.Hour)
	a := r.action(ids[0])
	if a.End != "completed" || a.Result != "CONTINUE" {
		t.Fatalf("action end %q result %q, want completed CONTINUE at the deadline", a.End, a.Result)
	}
	if held := a.Ended.Sub(a.Started); held < 5*time.Minute || held > 5*time.Minute+defaultPolicy.PollInterval {
		t.Errorf("held %v, want the 5m deadline (within one poll)", held)
	}
	var warned bool
	for _, l := range r.logLines() {
		if l["outcome"] == "deadline_reached" {
			tasks, _ := json.Marshal(l["tasks"])
			warned = l["level"] == "WARN" && strings.Contains(string(tasks), arn)
		}
	}
	if !warned {
		t.Errorf("no WARN deadline_reached line naming %s in:\n%s", arn, r.logs.String())
	}
}

// A drain longer than the hook's heartbeat timeout must keep the action
// alive with heartbeats, or Auto Scaling applies the default result and
// terminates the instance under its tasks.
func TestHeartbeatsKeepALongDrainAlive(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 60)
	r.runTask(ids[0], ecs.TaskSpec{Family: "report", CPU: 256, Memory: 512, RunFor: 20 * time.Minute})
	r.terminate(ids[0])
	r.run(time.Hour)
	a := r.assertReleasedCleanly(ids[0])
	if held := a.Ended.Sub(a.Started); held < 20*time.Minute {
		t.Errorf("held %v, want the task's 20 minutes", held)
	}
	if a.Heartbeats < 20 {
		t.Errorf("heartbeats = %d, want at least one per 60 s timeout over 20 minutes", a.Heartbeats)
	}
}

// A record that can never succeed goes to the DLQ after the redrive
// policy's receives, without making the good record in its batch run again.
func TestBadRecordsReachTheDLQWithoutRerunningGoodOnes(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.send("this is not an event")
	future := `{"kind":"ecs-drainer/requeue","version":2,"cluster":"c1"}`
	r.send(future)
	r.terminate(ids[0])
	r.run(time.Hour)
	r.assertReleasedCleanly(ids[0])
	dead, err := r.aws.SQS.Messages(r.dlqURL)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range dead {
		bodies = append(bodies, m.Body)
	}
	if len(bodies) != 2 || bodies[0] != "this is not an event" || bodies[1] != future {
		t.Errorf("DLQ bodies = %q, want the two bad records", bodies)
	}
	starts := 0
	for _, l := range r.logLines() {
		if l["event_id"] != nil && l["outcome"] != nil {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("the lifecycle event was processed %d times, want once", starts)
	}
}

// stoppedAt is when the task reached STOPPED.
func (r *rig) stoppedAt(arn string) time.Time {
	r.t.Helper()
	for _, task := range r.aws.ECS.Tasks(cluster) {
		if task.ARN == arn {
			return task.StoppedAt
		}
	}
	r.t.Fatalf("no task %s", arn)
	return time.Time{}
}

// With the construct's ECS rules delivering task and container instance
// state changes, the action must be completed as soon as the last task
// stops, not at the chain's next poll; the chain then ends at its next hop,
// and nothing else changes: no early release, one completion. Without the
// events, the poll is the safety net and the lag stays under one interval.
func TestECSEventsCompleteTheDrainWhenTheLastTaskStops(t *testing.T) {
	lag := map[bool]time.Duration{}
	for _, events := range []bool{false, true} {
		r := newRig(t, defaultPolicy)
		if events {
			r.routeECSEvents()
		}
		ids := r.group(2, true, ecs.Resources{}, 300)
		r.service(web)
		// Ends between two polls, so the poll alone is late by seconds.
		job := r.runTask(ids[0], ecs.TaskSpec{Family: "job", CPU: 256, Memory: 512, RunFor: 10*time.Minute + 7*time.Second})
		r.terminate(ids[0])
		r.run(time.Hour)
		a := r.assertReleasedCleanly(ids[0])
		lag[events] = a.Ended.Sub(r.stoppedAt(job))
		t.Logf("events %v: lag from the last task's StoppedAt to completion %v; outcomes %v", events, lag[events], r.outcomes())
		if events {
			n := r.outcomes()
			if n["drained"] != 1 || n["action_gone"] != 1 {
				t.Errorf("outcomes %v: want one drained (by the event) and the chain's next hop ending as action_gone", n)
			}
			completed := false
			for _, l := range r.logLines() {
				if l["outcome"] == "drained" && l["detail_type"] != nil && l["hook"] == hook && l["asg"] == group && l["instance_id"] == ids[0] {
					completed = true
				}
			}
			if !completed {
				t.Errorf("no drained line from an ECS event naming the hook, group and instance in:\n%s", r.logs.String())
			}
		}
	}
	if lag[true] > time.Second {
		t.Errorf("lag with ECS events %v, want at most the rig's 1 s step", lag[true])
	}
	if lag[false] <= time.Second || lag[false] > defaultPolicy.PollInterval {
		t.Errorf("lag without ECS events %v, want the poll's: over 1 s and at most %v", lag[false], defaultPolicy.PollInterval)
	}
}

// ECS events of an instance that is not draining, or of another cluster,
// must cost at most one call and change nothing.
func TestECSEventsOfInstancesNotDrainingChangeNothing(t *testing.T) {
	r := newRig(t, defaultPolicy)
	r.routeECSEvents()
	ids := r.group(3, true, ecs.Resources{}, 300)
	r.service(web)
	job := r.runTask(ids[1], ecs.TaskSpec{Family: "job", CPU: 256, Memory: 512, RunFor: time.Minute})
	for range 90 {
		r.clk.Advance(time.Second)
		r.run(time.Second)
	}
	if r.stoppedAt(job).IsZero() {
		t.Fatal("the job did not stop")
	}
	n := r.outcomes()
	if n["not_draining"] == 0 || len(n) != 1 {
		t.Errorf("outcomes %v, want only not_draining", n)
	}
	if calls := r.aws.AutoScaling.Operations(); calls["DescribeAutoScalingInstances"]+calls["CompleteLifecycleAction"] > 0 {
		t.Errorf("Auto Scaling calls %v, want none of the drainer's: the instance is not draining", calls)
	}
	if calls := r.aws.ECS.Operations()["DescribeContainerInstances"]; calls != n["not_draining"] {
		t.Errorf("%d DescribeContainerInstances calls for %d events, want one each", calls, n["not_draining"])
	}
}

// Ten instances terminated at once reach the function as one batch: their
// first hops share the reads (one DescribeLifecycleHooks, one
// ListContainerInstances by an "in" filter, one DescribeContainerInstances)
// and their writes (one UpdateContainerInstancesState), through the real
// SDK against the local AWS, and every action is completed once drained.
// The writes' window stays open until ten writes have gathered: on a loaded
// machine the ten hops may reach their writes more than 5 ms apart.
func TestABatchOfFirstHopsSharesItsCalls(t *testing.T) {
	r := newRig(t, defaultPolicy, untilFull)
	ids := r.group(11, true, ecs.Resources{}, 300)
	for _, id := range ids[:10] {
		r.terminate(id)
	}
	r.run(time.Hour)
	for _, id := range ids[:10] {
		r.assertReleasedCleanly(id)
	}
	calls := r.aws.ECS.Operations()
	for op, want := range map[string]int{"ListContainerInstances": 1, "DescribeContainerInstances": 1, "UpdateContainerInstancesState": 1} {
		if calls[op] != want {
			t.Errorf("%s calls = %d, want %d for the batch of 10", op, calls[op], want)
		}
	}
	if got := r.aws.AutoScaling.Operations()["DescribeLifecycleHooks"]; got != 1 {
		t.Errorf("DescribeLifecycleHooks calls = %d, want 1 for the batch of 10", got)
	}
}
