package handler_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/infra/rules"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
)

// The launch gate end to end: launch lifecycle actions of the local Auto
// Scaling reach the handler, which reads the local ECS through the real SDK
// clients, on the rig's fake clock.

const launchHook = "launch-hook"

var gatePolicy = func() drain.Policy {
	p := defaultPolicy
	p.MaxLaunch = 10 * time.Minute
	return p
}()

// launchGroup creates an empty group with the drainer's terminate and launch
// hooks, whose instances' agents behave as ag says.
func (r *rig) launchGroup(ag localaws.Agent) {
	r.t.Helper()
	if err := r.aws.AttachClusterWith(group, cluster, ag); err != nil {
		r.t.Fatal(err)
	}
	if _, _, err := r.aws.AutoScaling.CreateGroup(group, 0, 10, 0); err != nil {
		r.t.Fatal(err)
	}
	for _, h := range []autoscaling.Hook{
		{Group: group, Name: hook, Transition: autoscaling.TransitionTerminating, HeartbeatTimeout: 300, DefaultResult: autoscaling.ResultContinue, NotificationMetadata: r.metadata()},
		{Group: group, Name: launchHook, Transition: autoscaling.TransitionLaunching, HeartbeatTimeout: 300, DefaultResult: autoscaling.ResultContinue, NotificationMetadata: r.metadata()},
	} {
		if err := r.aws.AutoScaling.PutLifecycleHook(h); err != nil {
			r.t.Fatal(err)
		}
	}
}

// scaleOut sets the group's desired capacity through the real API and
// delivers the launch events.
func (r *rig) scaleOut(desired int32) {
	r.t.Helper()
	if _, err := r.asg.SetDesiredCapacity(context.Background(), &sdkautoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(group), DesiredCapacity: aws.Int32(desired),
	}); err != nil {
		r.t.Fatal(err)
	}
	r.aws.Settle()
	r.deliverEvents()
}

// routeActiveEvents makes run deliver the ECS events of ACTIVE, connected
// container instances with no task, through the construct's rule.
func (r *rig) routeActiveEvents() {
	r.t.Helper()
	p, err := eventbridge.Compile(rules.ECSInstanceActive([]string{cluster}))
	if err != nil {
		r.t.Fatal(err)
	}
	r.ecs = append(r.ecs, p)
}

// launches returns the launch actions of the drainer's launch hook.
func (r *rig) launches() []autoscaling.ActionView {
	var out []autoscaling.ActionView
	for _, a := range r.aws.AutoScaling.Actions() {
		if a.Hook == launchHook {
			out = append(out, a)
		}
	}
	return out
}

// runUntilLaunched runs the rig, delivering the lifecycle events that
// replacements of abandoned instances send, until no launch action is
// active or limit passes.
func (r *rig) runUntilLaunched(limit time.Duration) {
	r.t.Helper()
	start := r.clk.Now()
	for r.clk.Now().Sub(start) < limit {
		r.run(time.Second)
		r.deliverEvents()
		active := false
		for _, a := range r.launches() {
			active = active || a.Active
		}
		if !active {
			return
		}
		r.clk.Advance(time.Second)
	}
}

// An agent registers 20 s after boot and connects 5 s later: the gate lets
// each instance in only then, and at once with the ACTIVE event routed
// (within the rig's 1 s step), at the next poll without it.
func TestLaunchGateLetsAnInstanceInOnceECSCanUseIt(t *testing.T) {
	for _, events := range []bool{true, false} {
		name := map[bool]string{true: "ECS events", false: "polling alone"}[events]
		t.Run(name, func(t *testing.T) {
			r := newRig(t, gatePolicy)
			if events {
				r.routeActiveEvents()
			}
			r.launchGroup(localaws.Agent{RegisterAfter: 20 * time.Second, ConnectAfter: 5 * time.Second})
			r.scaleOut(3)
			r.runUntilLaunched(5 * time.Minute)
			launches := r.launches()
			if len(launches) != 3 {
				t.Fatalf("%d launch actions, want 3", len(launches))
			}
			for _, a := range launches {
				usable := a.Started.Add(25 * time.Second)
				if a.Active || a.End != autoscaling.EndCompleted || a.Result != autoscaling.ResultContinue {
					t.Fatalf("launch of %s: active %v, end %q, result %q; want completed CONTINUE", a.InstanceID, a.Active, a.End, a.Result)
				}
				// The hidden failure: Auto Scaling counts an EC2 boot as
				// capacity before ECS can place a task on it.
				if a.Ended.Before(usable) {
					t.Errorf("launch of %s completed at %v, before its agent registered and connected at %v", a.InstanceID, a.Ended, usable)
				}
				late := a.Ended.Sub(usable)
				if events && late > time.Second || !events && late > gatePolicy.PollInterval {
					t.Errorf("launch of %s completed %v after the instance was usable; want within %v", a.InstanceID, late,
						map[bool]time.Duration{true: time.Second, false: gatePolicy.PollInterval}[events])
				}
			}
			if n := r.outcomes()["launch_ready"]; n != 3 {
				t.Errorf("%d launch_ready lines, want 3:\n%s", n, r.logs.String())
			}
		})
	}
}

// ECS reports REGISTRATION_FAILED: the gate abandons at once, naming ECS's
// reason, and Auto Scaling replaces the instance; the replacement, whose
// agent registers, is let in.
func TestLaunchGateAbandonsAFailedRegistration(t *testing.T) {
	r := newRig(t, gatePolicy)
	failed := ""
	r.launchGroup(localaws.Agent{RegisterAfter: 10 * time.Second, RegisteringFor: 5 * time.Second,
		Fail: func(id string) (string, bool) {
			if failed == "" {
				failed = id
			}
			return "", id == failed
		}})
	r.scaleOut(1)
	r.runUntilLaunched(5 * time.Minute)
	var abandoned, continued int
	for _, a := range r.launches() {
		switch {
		case a.InstanceID == failed && a.Result == autoscaling.ResultAbandon && a.End == autoscaling.EndCompleted:
			abandoned++
			// The hidden failure: an instance that will never join held
			// for the whole deadline, then let in.
			if a.Ended.Sub(a.Started) > time.Minute {
				t.Errorf("failed registration abandoned %v after launch, want at the first look after it failed", a.Ended.Sub(a.Started))
			}
		case a.InstanceID != failed && a.Result == autoscaling.ResultContinue:
			continued++
		}
	}
	if abandoned != 1 || continued != 1 {
		t.Fatalf("abandoned %d, continued %d; want the failed instance abandoned and its replacement let in: %+v", abandoned, continued, r.launches())
	}
	found := false
	for _, l := range r.logLines() {
		if l["outcome"] == "launch_failed" && l["level"] == "WARN" && l["status_reason"] == ecs.DefaultFailReason && l["instance_id"] == failed {
			found = true
		}
	}
	if !found {
		t.Errorf("no WARN launch_failed line with ECS's status reason for %s:\n%s", failed, r.logs.String())
	}
}

// An agent that never registers: the gate abandons at DRAINER_MAX_LAUNCH,
// not before, with a WARN saying what was missing.
func TestLaunchGateAbandonsAtItsDeadline(t *testing.T) {
	p := gatePolicy
	p.MaxLaunch = 2 * time.Minute
	r := newRig(t, p)
	never := ""
	r.launchGroup(localaws.Agent{RegisterDelay: func(id string) time.Duration {
		if never == "" {
			never = id
			return 24 * time.Hour
		}
		return 10 * time.Second
	}})
	r.scaleOut(1)
	r.runUntilLaunched(10 * time.Minute)
	a, ok := r.aws.AutoScaling.Action(never, launchHook)
	if !ok || a.End != autoscaling.EndCompleted || a.Result != autoscaling.ResultAbandon {
		t.Fatalf("launch of %s: %+v, want completed ABANDON", never, a)
	}
	// The hidden failure: an instance whose agent never starts is let in
	// (the hook's default), or given up on early.
	if took := a.Ended.Sub(a.Started); took < p.MaxLaunch || took > p.MaxLaunch+p.PollInterval {
		t.Errorf("abandoned %v after launch, want at DRAINER_MAX_LAUNCH (%v)", took, p.MaxLaunch)
	}
	found := false
	for _, l := range r.logLines() {
		if l["outcome"] == "launch_deadline" && l["level"] == "WARN" && l["waiting_for"] == "the ECS agent has not registered the instance with the cluster" {
			found = true
		}
	}
	if !found {
		t.Errorf("no WARN launch_deadline line naming the missing registration:\n%s", r.logs.String())
	}
}

// With DRAINER_LAUNCH_DAEMONS the gate also waits for a RUNNING task of
// every daemon whose memberOf constraint allows the instance; a daemon that
// excludes it is not waited for.
func TestLaunchGateWaitsForDaemons(t *testing.T) {
	p := gatePolicy
	p.LaunchDaemons = true
	r := newRig(t, p)
	r.routeActiveEvents()
	r.launchGroup(localaws.Agent{RegisterAfter: 10 * time.Second, Attributes: map[string]string{"role": "web"},
		Resources: ecs.Resources{CPU: 2048, Memory: 4096}})
	for _, svc := range []ecs.ServiceSpec{
		{Name: "logs", Daemon: true, CPU: 128, Memory: 128, StartDelay: 30 * time.Second,
			PlacementConstraints: []ecs.PlacementConstraint{{Type: ecs.ConstraintMemberOf, Expression: "attribute:role == web"}}},
		{Name: "gpu-metrics", Daemon: true, CPU: 128, Memory: 128,
			PlacementConstraints: []ecs.PlacementConstraint{{Type: ecs.ConstraintMemberOf, Expression: "attribute:role == gpu"}}},
	} {
		if err := r.aws.ECS.CreateService(cluster, svc); err != nil {
			t.Fatal(err)
		}
	}
	r.scaleOut(2)
	r.runUntilLaunched(5 * time.Minute)
	for _, a := range r.launches() {
		if a.Result != autoscaling.ResultContinue {
			t.Fatalf("launch of %s: %+v, want CONTINUE", a.InstanceID, a)
		}
		running := time.Time{}
		for _, task := range r.aws.ECS.Tasks(cluster) {
			if task.EC2InstanceID == a.InstanceID && task.Group == "service:logs" {
				running = task.StartedAt
			}
		}
		// The hidden failure: replicas fill the new instance before its
		// log daemon starts.
		if running.IsZero() || a.Ended.Before(running) {
			t.Errorf("launch of %s completed at %v, daemon logs RUNNING at %v: want after", a.InstanceID, a.Ended, running)
		}
		if late := a.Ended.Sub(running); late > p.PollInterval {
			t.Errorf("launch of %s completed %v after its daemon ran, want within a poll interval", a.InstanceID, late)
		}
	}
}

// Warm pools, both directions: an instance launching into the pool is let
// in at once (its agent registers only when it leaves the pool); one leaving
// the pool is gated until its agent is back, and one our drain left
// DRAINING on its way into the pool (ReuseOnScaleIn) is set ACTIVE again,
// its chain mark removed.
func TestLaunchGateWithAWarmPool(t *testing.T) {
	r := newRig(t, gatePolicy)
	r.routeActiveEvents()
	r.launchGroup(localaws.Agent{RegisterAfter: 10 * time.Second})
	if err := r.aws.AutoScaling.PutWarmPool(group, autoscaling.WarmPool{MaxGroupPreparedCapacity: aws.Int32(1), ReuseOnScaleIn: true}); err != nil {
		t.Fatal(err)
	}
	r.aws.Settle()
	r.deliverEvents()
	r.runUntilLaunched(2 * time.Minute)
	intoPool := r.launches()
	if len(intoPool) != 1 || intoPool[0].Destination != autoscaling.OriginWarmPool || intoPool[0].Result != autoscaling.ResultContinue {
		t.Fatalf("launches %+v, want one into the warm pool completed CONTINUE", intoPool)
	}
	// The hidden failure: waiting for an agent that does not register in
	// the pool holds every warm-pool launch for the whole deadline.
	if took := intoPool[0].Ended.Sub(intoPool[0].Started); took > 2*time.Second {
		t.Errorf("launch into the pool completed after %v, want at once", took)
	}
	warm := intoPool[0].InstanceID
	r.clk.Advance(time.Minute) // it stops into the pool

	// Out of the pool: gated until the agent is back.
	r.scaleOut(1)
	r.runUntilLaunched(2 * time.Minute)
	out := r.lastLaunch(warm)
	if out.Origin != autoscaling.OriginWarmPool || out.Result != autoscaling.ResultContinue {
		t.Fatalf("launch out of the pool %+v, want CONTINUE", out)
	}
	if ci, ok := r.aws.ECS.Instance(warm); !ok || ci.Status != "ACTIVE" || !ci.AgentConnected {
		t.Fatalf("container instance of %s: %+v, want ACTIVE and connected when let in", warm, ci)
	}

	// Back into the pool through our drain (ReuseOnScaleIn), and out again.
	r.scaleIn(0)
	r.run(2 * time.Minute)
	r.clk.Advance(time.Minute)
	if ci, ok := r.aws.ECS.Instance(warm); !ok || ci.Status != "DRAINING" {
		t.Fatalf("container instance of %s after the drain into the pool: %+v, want DRAINING", warm, ci)
	}
	r.scaleOut(1)
	r.runUntilLaunched(2 * time.Minute)
	last := r.lastLaunch(warm)
	// The hidden failure: an instance that comes back DRAINING takes no
	// task, and the gate would abandon it.
	if last.Origin != autoscaling.OriginWarmPool || last.Started == out.Started || last.Result != autoscaling.ResultContinue {
		t.Fatalf("second launch out of the pool %+v, want CONTINUE", last)
	}
	ci, _ := r.aws.ECS.Instance(warm)
	if ci.Status != "ACTIVE" {
		t.Errorf("container instance of %s is %s, want ACTIVE again", warm, ci.Status)
	}
	if n := r.outcomes()["launch_ready"]; n != 2 {
		t.Errorf("%d launch_ready lines, want 2", n)
	}
}

// lastLaunch is the instance's latest launch action of the drainer's hook.
func (r *rig) lastLaunch(instanceID string) autoscaling.ActionView {
	var last autoscaling.ActionView
	for _, a := range r.launches() {
		if a.InstanceID == instanceID {
			last = a
		}
	}
	return last
}

// scaleIn sets the group's desired capacity and delivers the terminate
// events.
func (r *rig) scaleIn(desired int32) {
	r.t.Helper()
	r.scaleOut(desired)
}

// A launch chain lost outright (its messages gone) for an instance whose
// agent never registers: without the reconciler's sweep, the hook's
// heartbeat timeout lapses into CONTINUE and a host ECS cannot use stays in
// service. The sweep looks at the launch each minute once it has waited a
// quarter of the heartbeat timeout, keeps it from lapsing, and abandons it
// at its deadline, counted from the launch's scaling activity.
func TestTheSweepEndsALostLaunchChain(t *testing.T) {
	p := gatePolicy
	p.MaxLaunch = 8 * time.Minute
	r := newRig(t, p)
	r.launchGroup(localaws.Agent{RegisterAfter: 24 * time.Hour})
	r.scaleOut(1)
	r.run(5 * time.Second)
	id := r.launches()[0].InstanceID
	for r.queued() > 0 { // the chain's messages are lost
		r.clk.Advance(time.Second)
		got, _ := r.aws.SQS.Receive(context.Background(), r.queueURL, 10, 0)
		for _, m := range got {
			_ = r.aws.SQS.Delete(r.queueURL, m.ReceiptHandle)
		}
	}
	scheduled := testdataBody(t, "scheduled-event.json")
	for range 12 {
		r.clk.Advance(time.Minute)
		r.invokeDirect(scheduled)
		r.run(time.Minute)
	}
	a := r.lastLaunch(id)
	if a.Active || a.End != autoscaling.EndCompleted || a.Result != autoscaling.ResultAbandon {
		t.Fatalf("launch of %s: %+v, want completed ABANDON by the sweep, not lapsed", id, a)
	}
	if took := a.Ended.Sub(a.Started); took < p.MaxLaunch || took > p.MaxLaunch+2*time.Minute {
		t.Errorf("abandoned %v after launch, want at DRAINER_MAX_LAUNCH (%v) give or take a sweep", took, p.MaxLaunch)
	}
}
