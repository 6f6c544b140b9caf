package drain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

func testAction() lifecycle.Action {
	return lifecycle.Action{
		EventID: "e1", Time: t0, Token: "87654321-4321-4321-4321-210987654321", GroupName: "asg", HookName: "hook",
		InstanceID: testInstance, Transition: lifecycle.TransitionTerminate,
	}
}

// newTestDrainer's chain message ids are m1, m2, ... in the order sent.
func newTestDrainer(f *fakeAWS, now time.Time) *Drainer {
	d := NewWithClients(f, f, f, "https://sqs.us-east-1.amazonaws.com/123456789012/drain", testPolicy, func() time.Time { return now })
	n := 0
	d.newID = func() string { n++; return fmt.Sprintf("m%d", n) }
	return d
}

// alone is a round of one record: it observed nothing, so the hop makes
// every call itself.
func alone(d *Drainer) *Round {
	return d.Prefetch(context.Background(), Batch{})
}

// The first hop must mark the instance DRAINING through the cluster query
// filter, look at tasks of both desired statuses (the instance was ACTIVE
// when described: a task may have been placed since), and wait by
// re-queueing with the full state, never by completing while a task is
// left.
func TestStartDrainsAndRequeuesWhileTasksAreLeft(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "ACTIVE",
		tasks: []ecstypes.Task{task(2, "RUNNING", "STOPPED"), task(3, "STOPPED", "STOPPED")}}
	res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), testAction(), lifecycle.HookMetadata{Cluster: "c1"}, "r1")
	if err != nil {
		t.Fatalf("Start error: %v", err)
	}
	// The tasks left are diagnosed (their protection, their service, and at
	// the first diagnosis whether another instance has room: here none, so
	// the group is asked what is launching).
	wantCalls := []string{"DescribeLifecycleHooks", "DescribeAutoScalingInstances", "ListContainerInstances", "DescribeContainerInstances",
		"UpdateContainerInstancesState", "ListTasks:RUNNING", "ListTasks:STOPPED", "DescribeTasks",
		"GetTaskProtection", "DescribeServices", "ListContainerInstances", "DescribeContainerInstances", "DescribeTaskDefinition", "DescribeAutoScalingGroups",
		"PutAttributes", "SendMessage"}
	if diff := cmp.Diff(wantCalls, f.calls); diff != "" {
		t.Fatalf("calls mismatch (-want +got):\n%s", diff)
	}
	if got, want := aws.ToString(f.lists[0].Filter), "ec2InstanceId == "+testInstance; got != want {
		t.Errorf("ListContainerInstances filter = %q, want %q", got, want)
	}
	if got := f.drain[0].Status; got != "DRAINING" {
		t.Errorf("UpdateContainerInstancesState status = %q, want DRAINING", got)
	}
	if res.Outcome != OutcomeRequeued || len(res.Tasks) != 1 {
		t.Errorf("result = %s with %d tasks, want requeued with 1 (the stopping task)", res.Outcome, len(res.Tasks))
	}
	if got := f.sent[0].DelaySeconds; got != 25 {
		t.Errorf("SendMessage DelaySeconds = %d, want 25 (to the next multiple of the poll interval)", got)
	}
	in, err := lifecycle.Parse([]byte(aws.ToString(f.sent[0].MessageBody)))
	if err != nil {
		t.Fatalf("re-queued body does not parse: %v", err)
	}
	want := State{Kind: lifecycle.MessageKind, Version: lifecycle.MessageVersion, EventID: "e1", Cluster: "c1", GroupName: "asg", HookName: "hook",
		InstanceID: testInstance, Token: testAction().Token, ContainerInstanceARN: testCI, Start: t0, Deadline: t0.Add(time.Hour),
		HeartbeatTimeoutSeconds: 300, LastHeartbeat: t0, Attempt: 2, ID: "m1", Parent: "e1", Due: t0.Add(30 * time.Second), // the hop ran at 5 s: the grid point after
		// The diagnosis travels on: the stopping task, and no room for web
		// on another instance (the fake cluster has no other).
		Diagnosis: "web=stopping:1", DiagnosedAt: t0.Add(5 * time.Second), Room: map[string]string{"web": "another instance"}}
	if diff := cmp.Diff(want, *in.Message); diff != "" {
		t.Errorf("re-queued state mismatch (-want +got):\n%s", diff)
	}
	if len(f.done) != 0 {
		t.Errorf("completed the action with tasks left: %+v", f.done)
	}
}

// A continued drain with nothing left completes with CONTINUE, naming the
// action by its token; it does not look the instance up again by filter,
// and lists only the tasks told to stop: the instance, DRAINING, shows none
// desired RUNNING.
func TestContinueCompletesWhenNoTaskIsLeft(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING", tasks: []ecstypes.Task{task(1, "STOPPED", "STOPPED")}}
	s := testState()
	s.Token, s.ContainerInstanceARN = testAction().Token, testCI
	res, err := alone(newTestDrainer(f, t0.Add(time.Minute))).Continue(context.Background(), s, "r1")
	if err != nil {
		t.Fatalf("Continue error: %v", err)
	}
	wantCalls := []string{"DescribeAutoScalingInstances", "DescribeContainerInstances", "ListTasks:STOPPED", "DescribeTasks", "CompleteLifecycleAction"}
	if diff := cmp.Diff(wantCalls, f.calls); diff != "" {
		t.Fatalf("calls mismatch (-want +got):\n%s", diff)
	}
	if res.Outcome != OutcomeDrained {
		t.Errorf("outcome = %s, want drained", res.Outcome)
	}
	c := f.done[0]
	if aws.ToString(c.LifecycleActionResult) != "CONTINUE" || aws.ToString(c.LifecycleActionToken) != s.Token || c.InstanceId != nil {
		t.Errorf("CompleteLifecycleAction = result %q token %q instance %v, want CONTINUE by token only",
			aws.ToString(c.LifecycleActionResult), aws.ToString(c.LifecycleActionToken), c.InstanceId)
	}
}

// More than 100 tasks need more than one DescribeTasks call; a drainer that
// sent them all at once failed on big instances.
func TestCountsMoreThanAHundredTasks(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING"}
	for i := range 150 {
		f.tasks = append(f.tasks, task(i, "RUNNING", "STOPPED")) // all still stopping
	}
	s := testState()
	s.ContainerInstanceARN = testCI
	res, err := alone(newTestDrainer(f, t0)).Continue(context.Background(), s, "r1")
	if err != nil {
		t.Fatalf("Continue error: %v", err)
	}
	if len(res.Tasks) != 150 {
		t.Fatalf("tasks left = %d, want 150", len(res.Tasks))
	}
	describes := 0
	for _, c := range f.calls {
		if c == "DescribeTasks" {
			describes++
		}
	}
	if describes != 2 {
		t.Errorf("DescribeTasks calls = %d, want 2 for 150 tasks", describes)
	}
}

func noActiveAction(by string) error {
	return &smithy.GenericAPIError{Code: "ValidationError", Message: "No active Lifecycle Action found with " + by}
}

// Completing or heartbeating an action that is no longer active means the
// drain is over: success, never an error that would be retried forever.
func TestNoActiveLifecycleActionEndsTheDrain(t *testing.T) {
	tests := []struct {
		name        string
		f           *fakeAWS
		now         time.Time
		wantOutcome Outcome
	}{
		{"complete after someone else completed", &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING",
			errs: map[string]error{"CompleteLifecycleAction": noActiveAction("token 87654321-4321-4321-4321-210987654321")}}, t0, OutcomeAlreadyCompleted},
		{"heartbeat after the action expired", &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING", tasks: []ecstypes.Task{task(1, "RUNNING", "RUNNING")},
			errs: map[string]error{"RecordLifecycleActionHeartbeat": noActiveAction("instance ID " + testInstance)}}, t0.Add(10 * time.Minute), OutcomeActionGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testState()
			s.ContainerInstanceARN = testCI
			res, err := alone(newTestDrainer(tt.f, tt.now)).Continue(context.Background(), s, "r1")
			if err != nil {
				t.Fatalf("Continue error: %v, want success", err)
			}
			if res.Outcome != tt.wantOutcome {
				t.Fatalf("outcome = %s, want %s", res.Outcome, tt.wantOutcome)
			}
			if len(tt.f.sent) != 0 {
				t.Fatalf("re-queued %d messages after the action ended, want none", len(tt.f.sent))
			}
		})
	}
}

// A throttled read must fail the record (to be redelivered), never be read as
// "no tasks" and complete the action.
func TestThrottledTaskListFailsTheHopWithoutCompleting(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	f := &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING", errs: map[string]error{"ListTasks:STOPPED": throttled}}
	s := testState()
	s.ContainerInstanceARN = testCI
	_, err := alone(newTestDrainer(f, t0)).Continue(context.Background(), s, "r1")
	if !errors.Is(err, throttled) || Classify(err) != Retryable {
		t.Fatalf("Continue error = %v (class %s), want the throttling error, retryable", err, Classify(err))
	}
	if len(f.done)+len(f.sent) != 0 {
		t.Fatalf("completed %d and re-queued %d after a failed read, want neither", len(f.done), len(f.sent))
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"no active action by token", noActiveAction("token x"), AlreadyDone},
		{"no active action by instance", noActiveAction("instance ID i-1"), AlreadyDone},
		{"another validation error", &smithy.GenericAPIError{Code: "ValidationError", Message: "1 validation error detected"}, Terminal},
		{"ECS throttling", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, Retryable},
		{"Auto Scaling throttling", &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}, Retryable},
		{"SQS throttling", &smithy.GenericAPIError{Code: "RequestThrottled"}, Retryable},
		{"server fault", &smithy.GenericAPIError{Code: "ServerException", Fault: smithy.FaultServer}, Retryable},
		{"cluster not found", &smithy.GenericAPIError{Code: "ClusterNotFoundException", Fault: smithy.FaultClient}, Terminal},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDeniedException"}, Terminal},
		{"a timeout", context.DeadlineExceeded, Retryable},
		{"a dropped connection", errors.New("read: connection reset by peer"), Retryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Fatalf("Classify(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

// At the deadline, the stop-tasks policy stops every task left, naming the
// drainer in the reason, and waits for them instead of releasing at once.
func TestStopTasksPolicyStopsWhatIsLeft(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING",
		tasks: []ecstypes.Task{task(1, "RUNNING", "RUNNING"), task(2, "RUNNING", "STOPPED")}}
	s := withPolicy(testState(), "stop-tasks")
	s.ContainerInstanceARN = testCI
	res, err := alone(newTestDrainer(f, t0.Add(time.Hour))).Continue(context.Background(), s, "r1")
	if err != nil {
		t.Fatalf("Continue error: %v", err)
	}
	if len(f.stops) != 1 || aws.ToString(f.stops[0].Task) != aws.ToString(task(1, "", "").TaskArn) {
		t.Fatalf("StopTask calls = %d, want one for the task still desired RUNNING", len(f.stops))
	}
	if reason := aws.ToString(f.stops[0].Reason); !strings.Contains(reason, "ecs-drainer") {
		t.Errorf("StopTask reason = %q, want it to name the drainer", reason)
	}
	if res.Outcome != OutcomeRequeued || res.State.TasksStoppedAt.IsZero() || len(f.done) != 0 {
		t.Errorf("outcome %s, stopped at %v, completions %d; want re-queued to wait for STOPPED", res.Outcome, res.State.TasksStoppedAt, len(f.done))
	}
}

// A drain that could not finish reports each protected task with its expiry.
func TestDeadlineReportsProtectedTasks(t *testing.T) {
	until := t0.Add(2 * time.Hour)
	protected := task(1, "RUNNING", "RUNNING")
	f := &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING", tasks: []ecstypes.Task{protected},
		protected: map[string]time.Time{aws.ToString(protected.TaskArn): until}}
	s := testState()
	s.ContainerInstanceARN = testCI
	res, err := alone(newTestDrainer(f, t0.Add(time.Hour))).Continue(context.Background(), s, "r1")
	if err != nil {
		t.Fatalf("Continue error: %v", err)
	}
	if res.Outcome != OutcomeDeadline || len(res.Tasks) != 1 {
		t.Fatalf("outcome %s with %d tasks, want deadline_reached with the protected task", res.Outcome, len(res.Tasks))
	}
	if got, want := res.Tasks[0].Why(), "scale-in protected until "+until.Format(time.RFC3339); got != want {
		t.Errorf("why = %q, want %q", got, want)
	}
	if got := aws.ToString(f.done[0].LifecycleActionResult); got != "CONTINUE" {
		t.Errorf("result = %s, want CONTINUE", got)
	}
}

// The chain mark is written before the next message is sent, naming it and
// this hop as the writer, so the next hop never reads a mark older than its
// own. A mark that cannot be written does not fail the hop: the message sent
// then answers to the mark this hop saw, which the instance still carries.
func TestRequeueMarksTheChainBeforeSending(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING", tasks: []ecstypes.Task{task(1, "RUNNING", "RUNNING")}}
	s := withToken(testState(), "tok")
	s.ContainerInstanceARN, s.ID, s.Attempt = testCI, "c7", 2
	if _, err := alone(newTestDrainer(f, t0.Add(time.Minute))).Continue(context.Background(), s, "r1"); err != nil {
		t.Fatal(err)
	}
	// The fake has no other instance with room: the drain is blocked, and
	// its mark says on what, for the reconciler's sweep.
	want := Chain{Start: t0, Due: t0.Add(time.Minute + 30*time.Second), MessageID: "m1", By: "c7", Token: "tok", Hook: "hook", Blocked: "no_capacity"}.String()
	if len(f.marks) != 1 || f.marks[0] != want {
		t.Fatalf("marks = %q, want [%q]", f.marks, want)
	}
	if diff := cmp.Diff([]string{"PutAttributes", "SendMessage"}, f.calls[len(f.calls)-2:]); diff != "" {
		t.Errorf("the last calls (-want +got):\n%s", diff)
	}

	f = &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING", tasks: []ecstypes.Task{task(1, "RUNNING", "RUNNING")},
		chain: Chain{Start: t0, Due: t0, MessageID: "c7", By: "c6", Token: "tok", Hook: "hook"}.String(),
		errs:  map[string]error{"PutAttributes": &smithy.GenericAPIError{Code: "ThrottlingException"}}}
	res, err := alone(newTestDrainer(f, t0.Add(time.Minute))).Continue(context.Background(), s, "r1")
	if err != nil || res.Outcome != OutcomeRequeued || len(res.Notes) != 1 {
		t.Fatalf("with the mark failing: outcome %s, notes %v, error %v; want re-queued with a note", res.Outcome, res.Notes, err)
	}
	in, err := lifecycle.Parse([]byte(aws.ToString(f.sent[0].MessageBody)))
	if err != nil || in.Message.ID != "m1" || in.Message.Fallback != "c7" {
		t.Fatalf("sent %+v (%v); want message m1 answering to the mark c7 it could not replace", in.Message, err)
	}
}

// A chain must survive a slow batch: a message sent back to the queue on a
// short budget (a new SQS message id, the same body), a hop that stopped
// between its mark and its send, and mark writes that fail in a row.
// TestChainProtocolModel explores these with every interleaving; these rows
// pin each rule of Owns.
func TestOwnsKeepsTheChainThroughItsFaults(t *testing.T) {
	hop := withToken(testState(), "tok")
	hop.Attempt, hop.ID, hop.Parent = 3, "c2", "c1"
	old := hop // a message of an earlier build: no id, named by its SQS message id
	old.ID = ""
	first := withToken(testState(), "tok")
	first.EventID = "e1"
	mark := func(next, by string) *Chain {
		return &Chain{Start: t0, Due: t0.Add(30 * time.Second), MessageID: next, By: by, Token: "tok", Hook: "hook"}
	}
	withFallback := hop
	withFallback.Fallback = "c0"
	tests := []struct {
		name     string
		s        State
		recordID string
		chain    *Chain
		want     bool
	}{
		{"the mark names the message", hop, "sqs-1", mark("c2", "c1"), true},
		{"a copy sent back on a short budget: another SQS id, the same message", hop, "sqs-2", mark("c2", "c1"), true},
		{"the message's earlier delivery marked its next message and stopped before sending it", hop, "sqs-1", mark("c3", "c2"), true},
		{"its sender could not write the mark: the mark it saw still stands", withFallback, "sqs-1", mark("c0", "c9"), true},
		{"a fork: the mark names another message", hop, "sqs-1", mark("c5", "c4"), false},
		{"a sibling: the mark names the other child of the same sender", hop, "sqs-1", mark("c3", "c1"), false},
		{"an earlier build's message named by its SQS id", old, "sqs-1", mark("sqs-1", ""), true},
		{"an earlier build's message whose sender stopped before marking", old, "sqs-1", mark("c1", ""), true},
		{"a first hop whose earlier delivery marked and stopped before sending", first, "sqs-9", mark("c1", short("e1")), true},
		{"a duplicate first hop of another event", first, "sqs-9", mark("c1", short("e2")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Observation{Now: t0.Add(time.Minute), RecordID: tt.recordID, Chain: tt.chain}
			if got := Owns(tt.s, o, testPolicy); got != tt.want {
				t.Errorf("Owns(message %q of parent %q, fallback %q, record %s, mark %+v) = %v, want %v", tt.s.ID, tt.s.Parent, tt.s.Fallback, tt.recordID, *tt.chain, got, tt.want)
			}
		})
	}
}

func TestChainMarkRoundTrips(t *testing.T) {
	c := Chain{Start: t0, Due: t0.Add(time.Minute), MessageID: "5fea7756-0ea4-451a-a703-a558b933e274", Token: "87654321-4321-4321-4321-210987654321", Hook: "ecs-drainer"}
	got, ok := ParseChain(c.String())
	if !ok || got != c {
		t.Fatalf("ParseChain(%q) = %+v, %v; want %+v", c.String(), got, ok, c)
	}
	if len(c.String()) > 128 {
		t.Fatalf("mark is %d characters, over ECS's 128-character attribute value limit", len(c.String()))
	}
	t.Run("with its writer, within 128 characters", func(t *testing.T) {
		c := c
		c.MessageID, c.By = newChainID(), short("5fea7756-0ea4-451a-a703-a558b933e274")
		got, ok := ParseChain(c.String())
		if !ok || got != c || len(c.String()) > 128 {
			t.Errorf("ParseChain(%q) = %+v, %v; want %+v in at most 128 characters", c.String(), got, ok, c)
		}
	})
	t.Run("a mark of an earlier build, without the hook, still parses", func(t *testing.T) {
		old := fmt.Sprintf("%d:%d:m1:tok", t0.Unix(), t0.Unix())
		if got, ok := ParseChain(old); !ok || got.Hook != "" || got.MessageID != "m1" || got.Token != "tok" {
			t.Errorf("ParseChain(%q) = %+v, %v; want message m1, token tok, no hook", old, got, ok)
		}
	})
	t.Run("a hook too long to fit is left out, keeping the mark within 128 characters", func(t *testing.T) {
		long := c
		long.Hook = strings.Repeat("h", 200)
		got, ok := ParseChain(long.String())
		if len(long.String()) > 128 || !ok || got.Hook != "" {
			t.Errorf("mark %q (%d characters) parses as %+v, %v; want at most 128 characters, no hook", long.String(), len(long.String()), got, ok)
		}
	})
	t.Run("the reason a blocked drain is stuck on, with its hook or without", func(t *testing.T) {
		for _, hook := range []string{"ecs-drainer", ""} {
			b := c
			b.MessageID, b.By, b.Hook, b.Blocked = newChainID(), "0123456789abcdef", hook, "agent_disconnected"
			got, ok := ParseChain(b.String())
			if !ok || got != b || len(b.String()) > 128 {
				t.Errorf("ParseChain(%q) = %+v, %v; want %+v in at most 128 characters", b.String(), got, ok, b)
			}
		}
	})
	for _, bad := range []string{"", "x", "1:2:3", "a:2:m:t", "1:2::t", "1:2:m:t:h:r:x"} {
		if _, ok := ParseChain(bad); ok {
			t.Errorf("ParseChain(%q) ok, want rejected", bad)
		}
	}
}

// A task placed between the first hop's describe (ACTIVE, empty) and its
// DRAINING must still be found: only an instance described while DRAINING
// may skip listing the tasks desired RUNNING. Releasing here would kill it.
func TestATaskPlacedJustBeforeDrainingIsWaitedFor(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "ACTIVE",
		placedBeforeDrain: []ecstypes.Task{task(1, "PENDING", "RUNNING")}}
	res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), testAction(), lifecycle.HookMetadata{Cluster: "c1"}, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeRequeued || len(f.done) != 0 {
		t.Errorf("outcome %s, completions %d; want requeued with the new task left, no completion", res.Outcome, len(f.done))
	}
}

// The disconnect is timed from the first hop that saw it, and forgotten as
// soon as a hop sees the agent connected again: agents reconnect several
// times an hour.
func TestHopsTrackHowLongTheAgentIsDisconnected(t *testing.T) {
	s := withToken(testState(), "tok")
	s.ContainerInstanceARN, s.Attempt, s.ID = testCI, 2, "c1"
	for _, tt := range []struct {
		name         string
		disconnected bool
		since        time.Time
		want         time.Time
	}{
		{"first seen disconnected: from now", true, time.Time{}, t0.Add(time.Minute)},
		{"still disconnected: from when first seen", true, t0, t0},
		{"connected again: forgotten", false, t0, time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAWS{lifecycleState: "Terminating:Wait", ciStatus: "DRAINING", agentDisconnected: tt.disconnected, tasks: []ecstypes.Task{task(1, "RUNNING", "RUNNING")}}
			s := s
			s.DisconnectedSince = tt.since
			res, err := alone(newTestDrainer(f, t0.Add(time.Minute))).Continue(context.Background(), s, "r1")
			if err != nil || res.Outcome != OutcomeRequeued {
				t.Fatalf("outcome %s, error %v; want requeued", res.Outcome, err)
			}
			if !res.State.DisconnectedSince.Equal(tt.want) {
				t.Errorf("disconnected since %v, want %v", res.State.DisconnectedSince, tt.want)
			}
		})
	}
}

// A first hop must read all the group's hooks in its one DescribeLifecycleHooks
// and carry the other terminate hooks, which the handler warns of: two
// drainers on one instance is the most common migration mistake.
func TestTheFirstHopKnowsTheGroupsOtherTerminateHooks(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", otherHooks: []string{"ecs-managed-draining-termination-hook", "log-flush"},
		tasks: []ecstypes.Task{task(1, "RUNNING", "RUNNING")}}
	res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), testAction(), lifecycle.HookMetadata{Cluster: "c1"}, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ecs-managed-draining-termination-hook", "log-flush"}, res.State.OtherHooks); diff != "" {
		t.Errorf("other hooks (-want +got):\n%s", diff)
	}
	if n := strings.Count(strings.Join(f.calls, ","), "DescribeLifecycleHooks"); n != 1 {
		t.Errorf("%d DescribeLifecycleHooks calls, want 1", n)
	}
	if len(f.done) != 0 || len(f.beats) != 0 {
		t.Errorf("wrote to a lifecycle action: completed %d, heartbeats %d", len(f.done), len(f.beats))
	}
}

// An instance terminated out of the warm pool waits in
// Warmed:Terminating:Wait: a pending terminate action, drained like any other
// (usually it is not registered, so it completes at once), not action_gone.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
func TestAWarmPoolInstanceTerminatingIsDrained(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Warmed:Terminating:Wait", hookTimeout: 300}
	res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), testAction(), lifecycle.HookMetadata{Cluster: "c1"}, "r1")
	if err != nil || res.Outcome != OutcomeNotRegistered || len(f.done) != 1 {
		t.Fatalf("outcome %s, completions %d, error %v; want not_registered with the action completed", res.Outcome, len(f.done), err)
	}
}

// An instance with the 10 custom attributes ECS allows cannot carry the mark:
// the hop must not try (PutAttributes would answer
// AttributeLimitExceededException every poll), must say so once, and the
// drain must go on by polling to completion.
func TestAnInstanceAtTheAttributeLimitIsDrainedByPolling(t *testing.T) {
	f := &fakeAWS{lifecycleState: "Terminating:Wait", hookTimeout: 300, ciStatus: "DRAINING", customAttrs: 10, tasks: []ecstypes.Task{task(1, "RUNNING", "RUNNING")}}
	res, err := alone(newTestDrainer(f, t0.Add(5*time.Second))).Start(context.Background(), testAction(), lifecycle.HookMetadata{Cluster: "c1"}, "r1")
	if err != nil || res.Outcome != OutcomeRequeued || !res.Unmarkable || !res.State.Unmarked {
		t.Fatalf("first hop: outcome %s, unmarkable %v, unmarked %v, error %v; want requeued, unmarkable, the message unmarked", res.Outcome, res.Unmarkable, res.State.Unmarked, err)
	}
	next := res.State
	f.tasks = []ecstypes.Task{task(1, "STOPPED", "STOPPED")}
	res, err = alone(newTestDrainer(f, t0.Add(40*time.Second))).Continue(context.Background(), next, "r2")
	if err != nil || res.Outcome != OutcomeDrained || res.Unmarkable {
		t.Fatalf("next hop: outcome %s, unmarkable %v, error %v; want drained, no second warning", res.Outcome, res.Unmarkable, err)
	}
	if slices.Contains(f.calls, "PutAttributes") {
		t.Errorf("calls %v: tried to write a mark ECS would refuse", f.calls)
	}
}
