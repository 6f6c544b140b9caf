package localdeploy

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	sdkecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
)

// bootstrap is the real drainer binary, built once for all scenarios, and
// deployment what the CDK app synthesizes for their group; neither is made
// under -short, which skips every test that needs them.
var (
	bootstrap  string
	deployment Deployment
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ecs-drainer-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bootstrap, err = BuildBootstrap(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	deployment, err = Synthesize(context.Background(), "c1", []string{"asg-a"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// skipShort skips a test that needs the built binary or the synthesized
// template.
func skipShort(t *testing.T, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip(why + "; skipped with -short")
	}
}

// syncBuffer collects the function's log lines, written from several
// execution environments at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type e2e struct {
	*World
	logs *syncBuffer
	ctx  context.Context
}

func start(t *testing.T, o FunctionOptions) e2e {
	return startDeployment(t, deployment, o)
}

func startDeployment(t *testing.T, d Deployment, o FunctionOptions) e2e {
	t.Helper()
	skipShort(t, "runs the function end to end")
	t.Parallel()
	// Only a hang guard: every drain ends by itself, at its MaxDrain
	// deadline at the latest, and the scenarios run in parallel on a
	// machine that may be loaded (the recursion test's chain alone takes
	// about a minute).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	logs := &syncBuffer{}
	o.Binary, o.Logs = bootstrap, logs
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	if o.MaxDrain == 0 {
		o.MaxDrain = 5 * time.Minute
	}
	w, err := Start(ctx, d, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("function logs:\n%s", logs)
		}
	})
	return e2e{World: w, logs: logs, ctx: ctx}
}

func (e e2e) group(t *testing.T, g GroupSpec) []string {
	t.Helper()
	g.Name, g.Cluster = "asg-a", "c1"
	ids, err := e.Group(e.ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (e e2e) service(t *testing.T, spec ecs.ServiceSpec) {
	t.Helper()
	if err := e.AWS.ECS.CreateService("c1", spec); err != nil {
		t.Fatal(err)
	}
}

func (e e2e) watch(t *testing.T, expected int) Summary {
	t.Helper()
	s, err := e.Watch(e.ctx, "c1", expected, nil)
	if err != nil {
		t.Fatalf("drains did not end: %v", err)
	}
	return s
}

func assertClean(t *testing.T, s Summary) {
	t.Helper()
	for _, v := range s.Violations(false) {
		t.Error(v)
	}
}

var web = ecs.ServiceSpec{Name: "web", DesiredCount: 4, CPU: 256, Memory: 512, StopDelay: 2 * time.Second}

// The whole loop, with the real binary: scale-in emits the lifecycle event,
// the rule routes it to the queue, the event source mapping invokes the
// function, which re-queues itself until the tasks have moved, then
// completes the action.
func TestScaleInOfOneInstance(t *testing.T) {
	e := start(t, FunctionOptions{})
	e.group(t, GroupSpec{Instances: 3})
	e.service(t, web)
	if err := e.ScaleIn(e.ctx, "asg-a", 1); err != nil {
		t.Fatal(err)
	}
	s := e.watch(t, 1)
	assertClean(t, s)
	if d := s.Drains[0]; d.TasksAtStart > 0 && d.Held < web.StopDelay {
		t.Errorf("held %v with %d tasks at start, want at least their %v stop delay", d.Held, d.TasksAtStart, web.StopDelay)
	}
}

// Several instances drain at once, with a fixed-port service and a daemon.
func TestScaleInOfSeveralInstancesAtOnce(t *testing.T) {
	e := start(t, FunctionOptions{})
	e.group(t, GroupSpec{Instances: 4})
	e.service(t, ecs.ServiceSpec{Name: "web", DesiredCount: 6, CPU: 256, Memory: 512, StopDelay: 2 * time.Second})
	e.service(t, ecs.ServiceSpec{Name: "api", DesiredCount: 2, CPU: 256, Memory: 512, HostPort: 8080, MinimumHealthyPercent: 50, StopDelay: time.Second})
	e.service(t, ecs.ServiceSpec{Name: "log-agent", Daemon: true, CPU: 64, Memory: 64, StopDelay: time.Second})
	if err := e.ScaleIn(e.ctx, "asg-a", 2); err != nil {
		t.Fatal(err)
	}
	s := e.watch(t, 2)
	assertClean(t, s)
	if s.Invocations < 2 {
		t.Errorf("invocations = %d, want at least one per drain", s.Invocations)
	}
}

// An instance refresh replaces every instance: each old one drains through
// the hook while the new ones take its tasks.
func TestInstanceRefreshReplacesEveryInstance(t *testing.T) {
	e := start(t, FunctionOptions{})
	old := e.group(t, GroupSpec{Instances: 3})
	e.service(t, ecs.ServiceSpec{Name: "web", DesiredCount: 3, CPU: 256, Memory: 512, StopDelay: time.Second})
	if err := e.Refresh(e.ctx, "asg-a"); err != nil {
		t.Fatal(err)
	}
	s := e.watch(t, len(old))
	assertClean(t, s)
	now, err := e.Instances(e.ctx, "asg-a")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range old {
		for _, n := range now {
			if id == n {
				t.Errorf("old instance %s still in service after the refresh", id)
			}
		}
	}
}

// An instance that never joined the cluster has nothing to drain: released
// at once, not left to wait out the hook.
func TestInstanceNotInTheClusterIsReleasedAtOnce(t *testing.T) {
	e := start(t, FunctionOptions{})
	e.group(t, GroupSpec{Instances: 2, Unregistered: true})
	if err := e.ScaleIn(e.ctx, "asg-a", 1); err != nil {
		t.Fatal(err)
	}
	s := e.watch(t, 1)
	assertClean(t, s)
	// Released by the first hop, however long that hop took to come.
	released := false
	for _, l := range e.lines(t) {
		switch l["outcome"] {
		case "not_registered":
			released = l["attempt"] == 1.0
		case "requeued":
			t.Errorf("the drain was re-queued (%v), want it released by its first hop", l)
		}
	}
	if !released {
		t.Errorf("no not_registered outcome of the first hop in the function's logs")
	}
}

// A one-instance cluster whose service uses a fixed host port can never
// drain: the replacement has nowhere to go. The drain must end at its
// deadline, loudly, not hang until the hook's timeout.
func TestUndrainableInstanceEndsAtTheDeadlineLoudly(t *testing.T) {
	e := start(t, FunctionOptions{MaxDrain: 5 * time.Second})
	e.group(t, GroupSpec{Instances: 1})
	e.service(t, ecs.ServiceSpec{Name: "api", DesiredCount: 1, CPU: 256, Memory: 512, HostPort: 8080})
	if err := e.ScaleIn(e.ctx, "asg-a", 1); err != nil {
		t.Fatal(err)
	}
	s := e.watch(t, 1)
	for _, v := range s.Violations(true) {
		t.Error(v)
	}
	d := s.Drains[0]
	if len(d.TasksAtRelease) != 1 {
		t.Errorf("tasks at release = %v, want the api task", d.TasksAtRelease)
	}
	// The deadline counts from the event's time, which EventBridge gives
	// to the second: up to a second before the action started. How soon
	// after it the drain ends is a hop's latency on this machine; that the
	// release comes within a poll of the deadline is asserted on a fake
	// clock (handler's TestDeadlineReleasesLoudly). Here: not before the
	// deadline, and by the drainer at its deadline, not by the hook's
	// heartbeat timeout.
	if d.Held < 4*time.Second || d.Held >= 30*time.Second {
		t.Errorf("held %v, want the 5 s deadline (not before, and before the hook's 30 s heartbeat timeout)", d.Held)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"level":"WARN"`) || !strings.Contains(logs, `"outcome":"deadline_reached"`) {
		t.Errorf("no WARN deadline_reached line in the function's logs")
	}
}

// Without RecursiveLoop Allow, Lambda stops a Lambda -> SQS -> Lambda chain
// after about 16 hops (ecs-cid-sample#30). The template sets Allow; this
// shows what happens if it were missing: the drain is cut and the hook
// times out.
func TestRecursiveLoopDetectionCutsTheChainWithoutAllow(t *testing.T) {
	skipShort(t, "runs the function end to end")
	if deployment.RecursiveLoop != "Allow" {
		t.Fatalf("the template's RecursiveLoop = %q, want Allow", deployment.RecursiveLoop)
	}
	d := deployment
	d.RecursiveLoop = ""
	e := startDeployment(t, d, FunctionOptions{})
	ids := e.group(t, GroupSpec{Instances: 2})
	// Runs well past the heartbeat timeout after the chain is cut, so only
	// the timeout can end the action.
	if _, err := e.AWS.ECS.RunTask("c1", ids[0], ecs.TaskSpec{Family: "report", CPU: 256, Memory: 512, RunFor: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ASG.TerminateInstanceInAutoScalingGroup(e.ctx, terminateInput(ids[0])); err != nil {
		t.Fatal(err)
	}
	s := e.watch(t, 1)
	if stops := e.Function.Stats().RecursionStops; stops == 0 {
		t.Errorf("recursion stops = 0, want the chain cut")
	}
	if d := s.Drains[0]; d.End != "timed-out" {
		t.Errorf("action end = %q, want timed-out after the chain was cut", d.End)
	}
}

// lines are the function's JSON log lines (not the runtime's START, END and
// REPORT lines).
func (e e2e) lines(t *testing.T) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if l = strings.TrimSpace(l); !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// midPoll is the first time after now halfway between two of the
// drainer's polls: they fall on the multiples of the poll interval.
func midPoll(now time.Time, poll time.Duration) time.Time {
	mid := now.Truncate(poll).Add(poll / 2)
	if !mid.After(now) {
		mid = mid.Add(poll)
	}
	return mid
}

func (e e2e) sleepUntil(t *testing.T, at time.Time) {
	t.Helper()
	select {
	case <-e.ctx.Done():
		t.Fatalf("waiting until %v: %v", at, e.ctx.Err())
	case <-time.After(time.Until(at)):
	}
}

// waitForLog waits until the function has logged a line containing s.
func (e e2e) waitForLog(t *testing.T, what, s string) {
	t.Helper()
	for !strings.Contains(e.logs.String(), s) {
		select {
		case <-e.ctx.Done():
			t.Fatalf("no %s in the function's logs: %v", what, e.ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopTask stops a task through the ECS API, as a job that ends does.
func (e e2e) stopTask(t *testing.T, arn string) {
	t.Helper()
	cfg, err := e.AWS.Config(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdkecs.NewFromConfig(cfg).StopTask(e.ctx, &sdkecs.StopTaskInput{Cluster: aws.String("c1"), Task: aws.String(arn), Reason: aws.String("the job ended")}); err != nil {
		t.Fatal(err)
	}
}

func terminateInput(id string) *sdkautoscaling.TerminateInstanceInAutoScalingGroupInput {
	return &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(true)}
}

// The template's ECS rules must reach the function through the local
// EventBridge and complete a drain as soon as its last task stops, with the
// real binary: with the events, the event completes it before the chain's
// next poll; without them (every ECS event lost: the poll is the safety
// net), the next poll does, over a second and at most a poll interval
// after the stop. The drainer polls on the multiples of the poll interval
// on the wall clock (drain.RequeueDelay), so the test stops the task
// itself, after the first hop and halfway between two polls: then which
// one completes the drain does not depend on the clock's phase, and either
// side of the stop holds half an interval of margin for a loaded machine.
// (How small the lag is with the events is measured by the bench.)
func TestECSEventsCompleteTheDrainAsSoonAsTheLastTaskStops(t *testing.T) {
	skipShort(t, "runs the function end to end")
	if drainRules := len(deployment.WithoutLaunchGate().Rules); drainRules != 4 {
		t.Fatalf("the template has %d drain rules, want 4: the terminate lifecycle rule, the two ECS state change rules and the placement failure rule", drainRules)
	}
	const poll = 8 * time.Second
	for _, tt := range []struct {
		name     string
		noEvents bool
	}{{"with ECS events", false}, {"with every ECS event lost", true}} {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, FunctionOptions{PollInterval: poll, NoECSEvents: tt.noEvents})
			ids := e.group(t, GroupSpec{Instances: 2})
			// Runs until the test stops it.
			job, err := e.AWS.ECS.RunTask("c1", ids[0], ecs.TaskSpec{Family: "job", CPU: 256, Memory: 512})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.ASG.TerminateInstanceInAutoScalingGroup(e.ctx, terminateInput(ids[0])); err != nil {
				t.Fatal(err)
			}
			e.waitForLog(t, "the first hop's re-queue", `"outcome":"requeued"`)
			e.sleepUntil(t, midPoll(time.Now(), poll))
			e.stopTask(t, job)
			s := e.watch(t, 1)
			assertClean(t, s)
			lag := s.Drains[0].Lag
			t.Logf("lag from the last task's StoppedAt to completion: %v (held %v, %d invocations)", lag, s.Drains[0].Held, s.Invocations)
			switch {
			case !tt.noEvents && lag >= poll/2:
				t.Errorf("lag %v with ECS events, want under the %v to the next poll", lag, poll/2)
			case tt.noEvents && (lag < time.Second || lag > poll+2*time.Second):
				t.Errorf("lag %v without ECS events, want the poll's: over 1 s, within %v and a hop", lag, poll)
			}
			// The task's STOPPED event and the instance's resources-freed
			// event come together; either may be the one that completes.
			if !tt.noEvents && !regexp.MustCompile(`"detail_type":"ECS [^"]+","[^\n]*"outcome":"drained"`).MatchString(e.logs.String()) {
				t.Errorf("no drained log line of an ECS event")
			}
			// The ECS events come through the event queue; the lifecycle
			// event and the hops through the poll queue.
			events, polls := e.Mapping.Events.Stats().Records, e.Mapping.Poll.Stats().Records
			switch {
			case tt.noEvents && (events != 0 || polls < 2):
				t.Errorf("records from the event queue %d, from the poll queue %d; want none, and the lifecycle event and the hop that completed", events, polls)
			case !tt.noEvents && events < 1:
				t.Errorf("records from the event queue %d, want the task's STOPPED event at least", events)
			}
		})
	}
}
