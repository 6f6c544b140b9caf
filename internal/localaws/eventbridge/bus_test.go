package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

var start = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

// newBus returns a bus on a fake clock that the test closes when it ends, so
// that no delivery outlives it.
func newBus(t *testing.T) *Bus {
	t.Helper()
	b := NewBus(clock.NewFake(start), "123456789012", "us-east-1")
	t.Cleanup(b.Close)
	return b
}

// waitFor waits for an asynchronous delivery to make cond true. The deadline
// only turns a hang into a failure: how long deliveries take depends on the
// machine's load.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recorder is a target that records the events it accepts; failures, if set,
// makes it fail that many calls first.
type recorder struct {
	mu       sync.Mutex
	calls    [][]byte
	accepted [][]byte
	failures int
}

func (r *recorder) target(_ context.Context, event []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, event)
	if len(r.calls) <= r.failures {
		return errors.New("target unavailable")
	}
	r.accepted = append(r.accepted, event)
	return nil
}

func (r *recorder) got() (calls, accepted [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls, r.accepted
}

func mustPut(t *testing.T, b *Bus, name, pattern string, targets ...Target) {
	t.Helper()
	if err := b.PutRule(name, []byte(pattern)); err != nil {
		t.Fatalf("PutRule(%s): %v", name, err)
	}
	for _, tg := range targets {
		if err := b.AddTarget(name, tg); err != nil {
			t.Fatalf("AddTarget(%s): %v", name, err)
		}
	}
}

func terminateEvent(asg string) awswire.Event {
	return awswire.Event{
		Source: "aws.autoscaling", DetailType: "EC2 Instance-terminate Lifecycle Action",
		Resources: []string{"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/" + asg},
		Detail:    map[string]string{"AutoScalingGroupName": asg, "EC2InstanceId": "i-1"},
	}
}

// Every target of every matching rule must get the event, all of them the
// same envelope, and no target of a rule that does not match may get it:
// consumers deduplicate on the envelope id, and a drainer fed another rule's
// events would act on the wrong groups.
func TestEmitDeliversOneEnvelopeToEveryTargetOfEveryMatchingRule(t *testing.T) {
	b := newBus(t)
	var drainA, drainB, audit, stopped recorder
	mustPut(t, b, "drain", terminateRule, drainA.target, drainB.target)
	mustPut(t, b, "audit", `{"source":["aws.autoscaling"]}`, audit.target)
	mustPut(t, b, "stopped-tasks", stoppedTaskRule, stopped.target)

	b.Emit(terminateEvent("asg-a"))
	waitFor(t, "three deliveries", func() bool { return b.Stats().Delivered == 3 })

	want := Stats{Put: 1, Matched: map[string]int{"drain": 1, "audit": 1}, Delivered: 3}
	if diff := cmp.Diff(want, b.Stats()); diff != "" {
		t.Errorf("Stats() after one terminate event (-want +got):\n%s", diff)
	}
	_, first := drainA.got()
	if len(first) != 1 {
		t.Fatalf("drain target 1 got %d events, want 1", len(first))
	}
	for name, r := range map[string]*recorder{"drain target 2": &drainB, "audit": &audit} {
		if _, got := r.got(); len(got) != 1 || string(got[0]) != string(first[0]) {
			t.Errorf("%s got %q, want the same envelope as drain target 1: %s", name, got, first[0])
		}
	}
	if _, got := stopped.got(); len(got) != 0 {
		t.Errorf("stopped-tasks target got %d events from a terminate action, want 0", len(got))
	}
}

// The envelope must carry the bus's account and region and the emulator's
// time, not the wall clock's, or the drainer's view of the event's age would
// disagree with the rest of the emulated world.
func TestEmitStampsTheEnvelopeWithTheBusClock(t *testing.T) {
	clk := clock.NewFake(start)
	b := NewBus(clk, "210987654321", "eu-west-1")
	t.Cleanup(b.Close)
	var r recorder
	mustPut(t, b, "all", `{"source":[{"prefix":""}]}`, r.target)
	clk.Advance(90 * time.Second)

	b.Emit(terminateEvent("asg-a"))
	waitFor(t, "the delivery", func() bool { return b.Stats().Delivered == 1 })

	_, got := r.got()
	var env map[string]any
	if err := json.Unmarshal(got[0], &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"account": "210987654321", "region": "eu-west-1", "time": "2026-11-24T05:01:30Z"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("envelope %s = %v, want %v", k, env[k], v)
		}
	}
}

// A target that fails must be retried with the same envelope until it
// accepts it, and count as one delivery: EventBridge delivers at least once,
// and the drainer's idempotency rests on the retries carrying the same id.
func TestFailingTargetIsRetriedUntilItAcceptsTheEvent(t *testing.T) {
	b := newBus(t)
	r := recorder{failures: 2}
	mustPut(t, b, "drain", terminateRule, r.target)

	b.Emit(terminateEvent("asg-b"))
	waitFor(t, "the delivery", func() bool { return b.Stats().Delivered == 1 })

	calls, accepted := r.got()
	if len(calls) != 3 || len(accepted) != 1 {
		t.Fatalf("target called %d times and accepted %d events, want 3 calls and 1 event", len(calls), len(accepted))
	}
	for i, c := range calls {
		if string(c) != string(accepted[0]) {
			t.Errorf("attempt %d carried %s, want the accepted envelope %s", i+1, c, accepted[0])
		}
	}
	want := Stats{Put: 1, Matched: map[string]int{"drain": 1}, Delivered: 1, FailedAttempts: 2}
	if diff := cmp.Diff(want, b.Stats()); diff != "" {
		t.Errorf("Stats() after two failures then a success (-want +got):\n%s", diff)
	}
}

// A target that never accepts must be given up after a bounded number of
// attempts and counted, so a broken target shows in Stats instead of
// retrying for the rest of the test.
func TestTargetThatNeverAcceptsIsGivenUp(t *testing.T) {
	b := newBus(t)
	r := recorder{failures: 1 << 30}
	mustPut(t, b, "drain", terminateRule, r.target)

	b.Emit(terminateEvent("asg-a"))
	waitFor(t, "the delivery to be given up", func() bool { return b.Stats().FailedInvocations == 1 })

	want := Stats{Put: 1, Matched: map[string]int{"drain": 1}, FailedAttempts: maxAttempts, FailedInvocations: 1}
	if diff := cmp.Diff(want, b.Stats()); diff != "" {
		t.Errorf("Stats() after a target that always fails (-want +got):\n%s", diff)
	}
}

// Emit is called by the emulated services on their request paths: it must
// return while targets still run, and targets must run without the bus's
// lock, or a target that calls back into the bus (or a service that emits)
// would deadlock.
func TestEmitReturnsWhileTargetsRunWithoutTheBusLock(t *testing.T) {
	b := newBus(t)
	release := make(chan struct{})
	var calledBack atomic.Bool
	mustPut(t, b, "drain", terminateRule, func(ctx context.Context, _ []byte) error {
		b.Emit(awswire.Event{Source: "test", DetailType: "callback"})
		calledBack.Store(true)
		<-release
		return nil
	})

	emitted := make(chan struct{})
	go func() {
		b.Emit(terminateEvent("asg-a"))
		close(emitted)
	}()
	waitFor(t, "Emit to return", func() bool {
		select {
		case <-emitted:
			return true
		default:
			return false
		}
	})
	waitFor(t, "the target to emit from inside its call", calledBack.Load)
	close(release)
	waitFor(t, "the delivery", func() bool { return b.Stats().Delivered == 1 })
	if got := b.Stats().Put; got != 2 {
		t.Errorf("Stats().Put = %d, want 2: the event and the one its target emitted", got)
	}
}

// Close must wait for target calls in progress and cancel their context, or
// a test's teardown would race with targets still writing to its fakes.
func TestCloseCancelsAndWaitsForTargetsInProgress(t *testing.T) {
	b := NewBus(clock.NewFake(start), "123456789012", "us-east-1")
	started := make(chan struct{})
	var returned atomic.Bool
	mustPut(t, b, "drain", terminateRule, func(ctx context.Context, _ []byte) error {
		close(started)
		<-ctx.Done()
		returned.Store(true)
		return ctx.Err()
	})
	b.Emit(terminateEvent("asg-a"))
	<-started

	b.Close()

	if !returned.Load() {
		t.Error("Close returned while a target call was still in progress")
	}
	want := Stats{Put: 1, Matched: map[string]int{"drain": 1}, FailedAttempts: 1, FailedInvocations: 1}
	if diff := cmp.Diff(want, b.Stats()); diff != "" {
		t.Errorf("Stats() after Close interrupted a delivery (-want +got):\n%s", diff)
	}
}

// Close must abandon pending retries at once rather than play out the
// backoff schedule, and events emitted after it must not start deliveries
// that nothing would wait for.
func TestCloseAbandonsRetriesAndLaterEvents(t *testing.T) {
	b := NewBus(clock.NewFake(start), "123456789012", "us-east-1")
	r := recorder{failures: 1 << 30}
	// The second attempt fails only once Close cancels it, so the retries
	// cannot all be made before Close however slowly this test runs.
	mustPut(t, b, "drain", terminateRule, func(ctx context.Context, event []byte) error {
		err := r.target(ctx, event)
		if calls, _ := r.got(); len(calls) == 2 {
			<-ctx.Done()
		}
		return err
	})
	b.Emit(terminateEvent("asg-a"))
	waitFor(t, "a first failed attempt", func() bool { return b.Stats().FailedAttempts >= 1 })

	b.Close()
	b.Emit(terminateEvent("asg-b"))

	calls, _ := r.got()
	if len(calls) >= maxAttempts {
		t.Errorf("target called %d times before Close returned, want fewer than %d: Close must not wait out the retries", len(calls), maxAttempts)
	}
	s := b.Stats()
	if s.Put != 2 || s.Matched["drain"] != 2 || s.FailedInvocations != 2 || s.Delivered != 0 {
		t.Errorf("Stats() = %+v, want 2 put, 2 matched, 2 failed invocations and none delivered", s)
	}
	if after, _ := r.got(); len(after) != len(calls) {
		t.Errorf("target called %d times after Close, want 0", len(after)-len(calls))
	}
}

// PutRule must validate before it changes anything, replace the pattern of
// an existing rule while keeping its targets (as AWS does), and AddTarget
// must refuse a rule that does not exist.
func TestPutRuleValidatesAndReplaces(t *testing.T) {
	b := newBus(t)
	var r recorder
	mustPut(t, b, "drain", terminateRule, r.target)

	if err := b.PutRule("drain", []byte(`{"source":"aws.autoscaling"}`)); !errors.Is(err, ErrInvalidPattern) {
		t.Errorf("PutRule(drain, bare string) error = %v, want ErrInvalidPattern", err)
	}
	b.Emit(terminateEvent("asg-a"))
	waitFor(t, "a delivery under the old pattern", func() bool { return b.Stats().Delivered == 1 })

	mustPut(t, b, "drain", `{"detail":{"AutoScalingGroupName":["asg-c"]}}`)
	b.Emit(terminateEvent("asg-a"))
	b.Emit(terminateEvent("asg-c"))
	waitFor(t, "a delivery under the new pattern", func() bool { return b.Stats().Delivered == 2 })
	if got := b.Stats().Matched["drain"]; got != 2 {
		t.Errorf("drain matched %d events, want 2: asg-a under the old pattern, asg-c under the new", got)
	}

	for _, name := range []string{"", "has space", string(make([]byte, 65))} {
		if err := b.PutRule(name, []byte(terminateRule)); err == nil {
			t.Errorf("PutRule(%q) error = nil, want a name error", name)
		}
	}
	if err := b.AddTarget("missing", r.target); !errors.Is(err, ErrRuleNotFound) {
		t.Errorf("AddTarget(missing) error = %v, want ErrRuleNotFound", err)
	}
}

// Emit must fail loudly on a detail that is not an object: it is a bug in
// the emitting service, and dropping the event would hide it as a drain that
// never starts.
func TestEmitPanicsOnDetailThatIsNotAnObject(t *testing.T) {
	b := newBus(t)
	defer func() {
		if recover() == nil {
			t.Error("Emit(detail \"x\") did not panic")
		}
	}()
	b.Emit(awswire.Event{Source: "aws.ecs", DetailType: "ECS Task State Change", Detail: "x"})
}
