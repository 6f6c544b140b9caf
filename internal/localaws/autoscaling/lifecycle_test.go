package autoscaling

import (
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Scale in must put the instance in Terminating:Wait and emit one event per
// terminate hook with the documented detail, otherwise the drainer, which
// only ever learns of a termination from that event, never runs
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-event-reference.html).
func TestScaleInEmitsOneEventPerTerminateHook(t *testing.T) {
	e := newEnv(t, Options{})
	ids := e.group("web", 2,
		Hook{Name: "drain", NotificationMetadata: `{"cluster":"prod"}`},
		Hook{Name: "audit"},
		Hook{Name: "warmup", Transition: TransitionLaunching},
	)
	arn := regexp.MustCompile(`^arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName/web$`)

	e.setDesired("web", 1)

	victim := ids[0] // the oldest, and alone in its Availability Zone
	if got := e.states(ids...); !cmp.Equal(got, map[string]string{victim: StateTerminatingWait, ids[1]: StateInService}) {
		t.Fatalf("states after scale in: got %v, want %s waiting and %s in service", got, victim, ids[1])
	}
	events, _, _ := e.recorded()
	var want []awswire.Event
	for _, h := range []struct{ name, metadata string }{{"drain", `{"cluster":"prod"}`}, {"audit", ""}} {
		want = append(want, awswire.Event{
			Source:     "aws.autoscaling",
			DetailType: "EC2 Instance-terminate Lifecycle Action",
			Detail: LifecycleDetail{
				LifecycleActionToken: e.action(victim, h.name).Token,
				AutoScalingGroupName: "web",
				LifecycleHookName:    h.name,
				EC2InstanceID:        victim,
				LifecycleTransition:  "autoscaling:EC2_INSTANCE_TERMINATING",
				NotificationMetadata: h.metadata,
				Origin:               "AutoScalingGroup",
				Destination:          "EC2",
			},
		})
	}
	if diff := cmp.Diff(want, events, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Resources" }, cmp.Ignore())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	for _, ev := range events {
		if len(ev.Resources) != 1 || !arn.MatchString(ev.Resources[0]) {
			t.Errorf("event resources: got %v, want [the group ARN]", ev.Resources)
		}
		if tok := ev.Detail.(LifecycleDetail).LifecycleActionToken; len(tok) != 36 {
			t.Errorf("token %q: got %d chars, want 36", tok, len(tok))
		}
	}
}

// A lifecycle action must complete by token or by instance ID, and a second
// completion must fail with the exact ValidationError text AWS returns,
// because the drainer recognises "already done" by it and must stop
// retrying (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CompleteLifecycleAction.html;
// the error text as quoted in convox/rack#2432).
func TestCompleteLifecycleAction(t *testing.T) {
	for _, tc := range []struct {
		name    string
		byToken bool
		wantMsg func(instanceID, token string) string
	}{
		{"by token, then again by the same token", true, func(_, token string) string {
			return "No active Lifecycle Action found with token " + token
		}},
		{"by instance ID, then again by the same instance", false, func(id, _ string) string {
			return "No active Lifecycle Action found with instance ID " + id
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{ShutdownTime: ShutdownAtOnce})
			id := e.group("web", 1, Hook{Name: "drain"})[0]
			e.setDesired("web", 0)
			token := e.action(id, "drain").Token
			callID, callToken := id, ""
			if tc.byToken {
				callID, callToken = "", token
			}

			if err := e.complete("web", "drain", callID, callToken, ResultContinue); err != nil {
				t.Fatalf("first complete: %v", err)
			}
			if got := e.state(id); got != StateTerminated {
				t.Errorf("state after complete: got %s, want %s", got, StateTerminated)
			}
			if a := e.action(id, "drain"); a.End != EndCompleted || a.Result != ResultContinue {
				t.Errorf("outcome: got %s/%s, want %s/%s", a.End, a.Result, EndCompleted, ResultContinue)
			}
			_, _, terminated := e.recorded()
			if !cmp.Equal(terminated, []string{id}) {
				t.Errorf("OnTerminate calls: got %v, want [%s]", terminated, id)
			}

			err := e.complete("web", "drain", callID, callToken, ResultContinue)
			code, msg := apiError(t, err)
			if want := tc.wantMsg(id, token); code != "ValidationError" || msg != want {
				t.Errorf("second complete: got %s: %q, want ValidationError: %q", code, msg, want)
			}
		})
	}
}

// A heartbeat must restart the timeout with the hook's full HeartbeatTimeout
// but never past the global timeout, otherwise a long drain is cut short or
// an instance waits forever
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html;
// GlobalTimeout in the botocore model).
func TestHeartbeatExtendsDeadlineUpToGlobalTimeout(t *testing.T) {
	const hb = 60 // seconds; the global timeout is 100 × 60 s = 6000 s
	e := newEnv(t, Options{})
	id := e.group("web", 1, Hook{Name: "drain", HeartbeatTimeout: hb, DefaultResult: ResultContinue})[0]
	e.setDesired("web", 0)
	global := start.Add(6000 * time.Second)
	if got := e.action(id, "drain").GlobalDeadline; !got.Equal(global) {
		t.Fatalf("global deadline: got %v, want %v", got, global)
	}

	steps := []struct {
		name         string
		advance      time.Duration
		wantDeadline time.Time
	}{
		{"a heartbeat after 30 s restarts the full 60 s", 30 * time.Second, start.Add(90 * time.Second)},
		{"another just before the deadline restarts it again", 59 * time.Second, start.Add(149 * time.Second)},
	}
	for _, s := range steps {
		e.clk.Advance(s.advance)
		if err := e.heartbeat("web", "drain", id, ""); err != nil {
			t.Fatalf("%s: heartbeat: %v", s.name, err)
		}
		if got := e.action(id, "drain").Deadline; !got.Equal(s.wantDeadline) {
			t.Errorf("%s: deadline: got %v, want %v", s.name, got, s.wantDeadline)
		}
	}
	beats := len(steps)
	for e.action(id, "drain").Deadline.Before(global) {
		e.clk.Advance(50 * time.Second)
		if err := e.heartbeat("web", "drain", id, ""); err != nil {
			t.Fatalf("heartbeat at %v: %v", e.clk.Now(), err)
		}
		beats++
		want := e.clk.Now().Add(hb * time.Second)
		if want.After(global) {
			want = global
		}
		if got := e.action(id, "drain").Deadline; !got.Equal(want) {
			t.Fatalf("heartbeat at %v: deadline: got %v, want %v", e.clk.Now(), got, want)
		}
	}

	e.clk.Advance(global.Sub(e.clk.Now()))
	e.srv.Settle()
	a := e.action(id, "drain")
	if a.End != EndTimedOut || !a.Ended.Equal(global) || a.Heartbeats != beats {
		t.Errorf("at the global timeout: got end %s at %v after %d heartbeats, want %s at %v after %d", a.End, a.Ended, a.Heartbeats, EndTimedOut, global, beats)
	}
	err := e.heartbeat("web", "drain", id, "")
	if code, msg := apiError(t, err); msg != "No active Lifecycle Action found with instance ID "+id {
		t.Errorf("heartbeat after the global timeout: got %s: %q, want the no-active-action error", code, msg)
	}
}

// A lapsed heartbeat timeout must apply the hook's DefaultResult, record
// that it came from a timeout, and still terminate the instance: both
// results terminate on the way out (DefaultResult in the botocore autoscaling
// model; https://docs.aws.amazon.com/autoscaling/ec2/userguide/adding-lifecycle-hooks.html).
func TestTimeoutAppliesDefaultResult(t *testing.T) {
	for _, def := range []string{ResultContinue, ResultAbandon} {
		t.Run("DefaultResult "+def, func(t *testing.T) {
			e := newEnv(t, Options{ShutdownTime: ShutdownAtOnce})
			id := e.group("web", 1, Hook{Name: "drain", HeartbeatTimeout: 300, DefaultResult: def})[0]
			e.setDesired("web", 0)

			e.clk.Advance(299 * time.Second)
			if got := e.states(id)[id]; got != StateTerminatingWait {
				t.Fatalf("one second before the timeout: got %s, want %s", got, StateTerminatingWait)
			}
			e.clk.Advance(time.Second)
			e.srv.Settle()

			a := e.action(id, "drain")
			want := ActionView{Result: def, End: EndTimedOut, Ended: start.Add(300 * time.Second)}
			if got := (ActionView{Result: a.Result, End: a.End, Ended: a.Ended}); got != want {
				t.Errorf("outcome: got %+v, want %+v", got, want)
			}
			if got := e.state(id); got != StateTerminated {
				t.Errorf("state: got %s, want %s", got, StateTerminated)
			}
			err := e.complete("web", "drain", "", a.Token, ResultContinue)
			if _, msg := apiError(t, err); msg != "No active Lifecycle Action found with token "+a.Token {
				t.Errorf("complete after timeout: got %q, want the no-active-action error", msg)
			}
		})
	}
}

// With several terminate hooks, CONTINUE must wait for the others while
// ABANDON skips them, as documented for terminating instances; otherwise a
// second hook (the drainer's) is cut short or waits for nothing
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/adding-lifecycle-hooks.html).
func TestResultOfOneHookAmongSeveral(t *testing.T) {
	for _, tc := range []struct {
		result        string
		wantState     string
		wantOtherEnd  End
		wantOtherLive bool
	}{
		{ResultContinue, StateTerminatingWait, "", true},
		{ResultAbandon, StateTerminatingProceed, EndSkipped, false},
	} {
		t.Run(tc.result+" on the first hook", func(t *testing.T) {
			e := newEnv(t, Options{})
			id := e.group("web", 1, Hook{Name: "first"}, Hook{Name: "drain"})[0]
			e.setDesired("web", 0)

			if err := e.complete("web", "first", id, "", tc.result); err != nil {
				t.Fatal(err)
			}
			if got := e.state(id); got != tc.wantState {
				t.Errorf("state: got %s, want %s", got, tc.wantState)
			}
			if a := e.action(id, "drain"); a.End != tc.wantOtherEnd || a.Active != tc.wantOtherLive {
				t.Errorf("other hook: got end %q active %v, want end %q active %v", a.End, a.Active, tc.wantOtherEnd, tc.wantOtherLive)
			}
			err := e.heartbeat("web", "drain", id, "")
			if tc.wantOtherLive && err != nil {
				t.Errorf("heartbeat on the remaining hook: %v", err)
			}
			if !tc.wantOtherLive && err == nil {
				t.Error("heartbeat on a skipped hook: got success, want ValidationError")
			}
		})
	}
}

// A token must only match its own group and hook; a token of another hook
// or a right token sent with the wrong instance is no active action, or the
// drainer could complete someone else's hook (AWS's "No active Lifecycle
// Action" ValidationError, as quoted in convox/rack#2432).
func TestLookupMatchesGroupHookAndInstance(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.group("web", 2, Hook{Name: "drain"}, Hook{Name: "audit"})[0]
	e.setDesired("web", 1)
	token := e.action(id, "drain").Token
	for _, tc := range []struct {
		name, group, hook, instanceID, token, wantMsg string
	}{
		{"another hook's token", "web", "audit", "", token, "No active Lifecycle Action found with token " + token},
		{"an unknown group", "api", "drain", id, "", "No active Lifecycle Action found with instance ID " + id},
		{"an instance with no action", "web", "drain", "i-00000000000000000", "", "No active Lifecycle Action found with instance ID i-00000000000000000"},
		{"the token with another instance", "web", "drain", "i-00000000000000000", token, "No active Lifecycle Action found with token " + token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.complete(tc.group, tc.hook, tc.instanceID, tc.token, ResultContinue)
			if code, msg := apiError(t, err); code != "ValidationError" || msg != tc.wantMsg {
				t.Errorf("got %s: %q, want ValidationError: %q", code, msg, tc.wantMsg)
			}
		})
	}
	if a := e.action(id, "drain"); !a.Active {
		t.Errorf("after the failed lookups the action must still be active, got end %s", a.End)
	}
}

// A lapsed heartbeat timeout, forced by fault injection, applies the
// default result exactly as a real lapse does.
func TestExpireActionAppliesTheDefaultResult(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.group("web", 1, Hook{Name: "drain", HeartbeatTimeout: 300, DefaultResult: ResultContinue})[0]
	e.setDesired("web", 0)
	if !e.srv.ExpireAction(id, "drain") {
		t.Fatal("ExpireAction found no pending action")
	}
	a := e.action(id, "drain")
	if a.Active || a.End != EndTimedOut || a.Result != ResultContinue {
		t.Fatalf("after ExpireAction: active %v, end %q, result %q; want timed-out with CONTINUE", a.Active, a.End, a.Result)
	}
	if e.srv.ExpireAction(id, "drain") {
		t.Fatal("ExpireAction of an ended action reported one pending")
	}
}

// With several terminate hooks every hook's action must hold the instance
// on its own: completing one leaves it in Terminating:Wait until the others
// end, and a heartbeat or completion on one never moves another's deadline
// or ends it; otherwise the drainer's hook is cut short by, or outlives, a
// neighbour's.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html
func TestEachTerminateHookHoldsTheInstanceOnItsOwn(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.group("web", 1,
		Hook{Name: "drain", HeartbeatTimeout: 300, DefaultResult: ResultContinue},
		Hook{Name: "audit", HeartbeatTimeout: 120, DefaultResult: ResultContinue},
	)[0]
	e.setDesired("web", 0)
	drain, audit := e.action(id, "drain"), e.action(id, "audit")
	if drain.Token == audit.Token {
		t.Fatalf("both actions got token %s, want one each", drain.Token)
	}

	e.clk.Advance(time.Minute)
	if err := e.heartbeat("web", "drain", "", drain.Token); err != nil {
		t.Fatal(err)
	}
	if got := e.action(id, "audit").Deadline; !got.Equal(audit.Deadline) {
		t.Errorf("audit deadline after a heartbeat on drain: got %v, want %v", got, audit.Deadline)
	}
	if err := e.complete("web", "audit", "", audit.Token, ResultContinue); err != nil {
		t.Fatal(err)
	}
	if got := e.states(id)[id]; got != StateTerminatingWait {
		t.Errorf("after audit completed: got %s, want %s while drain is active", got, StateTerminatingWait)
	}
	if a := e.action(id, "drain"); !a.Active || !a.Deadline.Equal(start.Add(time.Minute+300*time.Second)) {
		t.Errorf("drain after audit completed: got active %v, deadline %v; want active, deadline from its own heartbeat", a.Active, a.Deadline)
	}
	if err := e.heartbeat("web", "audit", id, ""); err == nil {
		t.Error("heartbeat on the completed audit action: got success, want the no-active-action error")
	}

	// The remaining hook ends by its own timeout, with its own result.
	e.advance(300 * time.Second)
	a := e.action(id, "drain")
	if a.End != EndTimedOut || a.Result != ResultContinue {
		t.Errorf("drain at its timeout: got %s/%s, want %s/%s", a.End, a.Result, EndTimedOut, ResultContinue)
	}
	if got := e.states(id)[id]; got != StateTerminatingProceed {
		t.Errorf("after both hooks ended: got %s, want %s", got, StateTerminatingProceed)
	}
}

// A launch hook must hold a new instance in Pending:Wait with a launch event
// (EC2 → AutoScalingGroup), the instance reported to the harness as up so
// its ECS agent can register while it waits; CONTINUE puts it in service,
// ABANDON terminates and replaces it. Otherwise a launch gate that waits for
// ECS registration deadlocks or is never exercised.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html (Example 3)
func TestLaunchHookHoldsNewInstancesInPendingWait(t *testing.T) {
	for _, tc := range []struct {
		result       string
		wantState    string
		wantReplaced bool
	}{
		{ResultContinue, StateInService, false},
		{ResultAbandon, StateTerminating, true},
	} {
		t.Run(tc.result, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.group("web", 0, Hook{Name: "ready", Transition: TransitionLaunching})
			e.setDesired("web", 1)
			members := e.groupInstances("web")
			if len(members) != 1 {
				t.Fatalf("members: got %d, want 1", len(members))
			}
			id := aws.ToString(members[0].InstanceId)
			if got := e.states(id)[id]; got != StatePendingWait {
				t.Fatalf("new instance: got %s, want %s", got, StatePendingWait)
			}
			want := []event{{DetailTypeLaunch, LifecycleDetail{
				AutoScalingGroupName: "web", LifecycleHookName: "ready", EC2InstanceID: id,
				LifecycleTransition: TransitionLaunching, Origin: OriginEC2, Destination: OriginAutoScalingGroup,
			}}}
			if diff := cmp.Diff(want, e.lifecycleEvents()); diff != "" {
				t.Errorf("launch events (-want +got):\n%s", diff)
			}
			if _, launched, _ := e.recorded(); !cmp.Equal(launched, []string{id}) {
				t.Errorf("OnLaunch while waiting: got %v, want [%s]", launched, id)
			}

			if err := e.complete("web", "ready", id, "", tc.result); err != nil {
				t.Fatal(err)
			}
			if got := e.state(id); got != tc.wantState {
				t.Errorf("after %s: got %s, want %s", tc.result, got, tc.wantState)
			}
			if replaced := len(e.groupInstances("web")) == 2; replaced != tc.wantReplaced {
				t.Errorf("after %s: replacement launched %v, want %v", tc.result, replaced, tc.wantReplaced)
			}
		})
	}
}

// A launch action that nobody completes must end at its heartbeat timeout
// with the hook's DefaultResult: CONTINUE puts the instance in service,
// ABANDON terminates it (through the terminate hooks) and the group launches
// a replacement that waits on the hook in turn. This is what makes the
// launch gate's DefaultResult CONTINUE safe: a broken function delays a
// scale-out by one heartbeat timeout instead of blocking it.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html (when the
// timeout ends the default result applies; for launches CONTINUE puts the
// instance in service and ABANDON terminates it),
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_LifecycleHook.html (DefaultResult).
func TestLaunchActionTimeoutAppliesDefaultResult(t *testing.T) {
	for _, tc := range []struct {
		result       string
		wantState    string
		wantReplaced bool
	}{
		{ResultContinue, StateInService, false},
		{ResultAbandon, StateTerminatingWait, true},
	} {
		t.Run("DefaultResult "+tc.result, func(t *testing.T) {
			e := newEnv(t, Options{BootTime: time.Minute})
			e.group("web", 0,
				Hook{Name: "gate", Transition: TransitionLaunching, HeartbeatTimeout: 300, DefaultResult: tc.result},
				Hook{Name: "drain"})
			e.setDesired("web", 1)
			e.advance(time.Minute)
			id := aws.ToString(e.groupInstances("web")[0].InstanceId)
			e.advance(299 * time.Second)
			if got := e.state(id); got != StatePendingWait {
				t.Fatalf("1s before the heartbeat timeout: got %s, want %s", got, StatePendingWait)
			}
			e.advance(time.Second)
			a := e.action(id, "gate")
			if a.End != EndTimedOut || a.Result != tc.result || !a.Ended.Equal(start.Add(6*time.Minute)) {
				t.Errorf("launch action: got end %s, result %s at %v; want timed out with %s at %v", a.End, a.Result, a.Ended, tc.result, start.Add(6*time.Minute))
			}
			if got := e.state(id); got != tc.wantState {
				t.Errorf("after the timeout: got %s, want %s", got, tc.wantState)
			}
			var others []string
			for _, in := range e.groupInstances("web") {
				if other := aws.ToString(in.InstanceId); other != id && in.LifecycleState != types.LifecycleStateTerminatingWait {
					others = append(others, other)
				}
			}
			if replaced := len(others) == 1; replaced != tc.wantReplaced {
				t.Fatalf("after the timeout: other members %v, want a replacement %v", others, tc.wantReplaced)
			}
			if tc.wantReplaced {
				e.advance(time.Minute)
				if got := e.state(others[0]); got != StatePendingWait {
					t.Errorf("replacement: got %s, want %s on the launch hook", got, StatePendingWait)
				}
			}
		})
	}
}
