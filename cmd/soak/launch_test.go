package main

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// t0 is the synthetic records' clock: every time in them is t0 plus some
// seconds, so the checks read no clock of their own.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// launchAction is a launch action of the drainer's hook on i-1 in group g,
// started at t0 and ended at ended (seconds) with result; end "" leaves it
// pending.
func launchAction(ended float64, result string, end autoscaling.End) autoscaling.ActionView {
	a := autoscaling.ActionView{Group: "g", Hook: contract.LaunchHookName, InstanceID: "i-1", Token: "tok-1",
		Transition: autoscaling.TransitionLaunching, Origin: "EC2", Destination: autoscaling.OriginAutoScalingGroup, Started: t0}
	if end == "" {
		a.Active = true
		return a
	}
	a.End, a.Result, a.Ended = end, result, at(ended)
	return a
}

// completion is the drainer's completion of a, as the recorder keeps it.
func completion(a autoscaling.ActionView) localdeploy.LifecycleCall {
	return localdeploy.LifecycleCall{Operation: "CompleteLifecycleAction", Group: a.Group, Hook: a.Hook, InstanceID: a.InstanceID, Token: a.Token, Result: a.Result, Status: 200,
		Invocation: "inv-" + a.Token, Trace: "root-" + a.Token, At: at(1)}
}

// records are the records of one launch, completed by the drainer unless
// the action lapsed or is pending, in group g of cluster c, with no group
// at the end (those rows add theirs).
func records(a autoscaling.ActionView, usable map[string]time.Time, failed bool) launchRecords {
	r := launchRecords{actions: []autoscaling.ActionView{a}, cluster: map[string]string{"g": "c"}, maxLaunch: time.Minute,
		usable: map[string]map[string]time.Time{}, failed: map[string]string{}, end: at(300)}
	if a.End == autoscaling.EndCompleted {
		r.calls = []localdeploy.LifecycleCall{completion(a)}
	}
	if usable != nil {
		r.usable["i-1"] = usable
	}
	if failed {
		r.failed["i-1"] = "trunk interface failed"
	}
	return r
}

// The launch invariants are the soak's only evidence that the gate never
// lets an instance in before ECS can use it, never leaves one pending and
// abandons every failed registration: each way of breaking them must be
// reported, read from the records alone, and a launch that kept them must
// not be.
func TestCheckLaunchesReportsEachViolation(t *testing.T) {
	continued := func(ended float64) autoscaling.ActionView {
		return launchAction(ended, autoscaling.ResultContinue, autoscaling.EndCompleted)
	}
	abandoned := func(ended float64) autoscaling.ActionView {
		return launchAction(ended, autoscaling.ResultAbandon, autoscaling.EndCompleted)
	}
	usableAt := func(s float64) map[string]time.Time { return map[string]time.Time{"c": at(s)} }
	tests := []struct {
		name   string
		rec    launchRecords
		counts launchCounts
		want   []string // a substring of each violation, in order
	}{
		{"a launch completed CONTINUE once ECS could use the instance", records(continued(5), usableAt(4.5), false),
			launchCounts{Launches: 1, Ready: 1}, nil},
		{"a launch completed CONTINUE the moment ECS could use the instance", records(continued(5), usableAt(5), false),
			launchCounts{Launches: 1, Ready: 1}, nil},
		{"a launch completed CONTINUE before ECS could use the instance", records(continued(5), usableAt(5.001), false),
			launchCounts{Launches: 1, Early: 1}, []string{"completed CONTINUE at 12:00:05.000, before ECS could use the instance (usable from 12:00:05.001)"}},
		{"a launch completed CONTINUE for an instance never usable", records(continued(5), nil, false),
			launchCounts{Launches: 1, Early: 1}, []string{"before ECS could use the instance (never usable)"}},
		{"a launch completed CONTINUE for an instance usable only in another cluster", records(continued(5), map[string]time.Time{"other": at(1)}, false),
			launchCounts{Launches: 1, Early: 1}, []string{"before ECS could use the instance (never usable)"}},
		{"a launch lapsed to CONTINUE while the drainer ran", records(launchAction(120, autoscaling.ResultContinue, autoscaling.EndTimedOut), nil, false),
			launchCounts{Launches: 1, Early: 1, Lapsed: 1}, []string{"lapsed at 12:02:00.000 while the drainer ran: Auto Scaling applied the DefaultResult CONTINUE (never usable)"}},
		{"a launch lapsed to CONTINUE after the instance was usable, while the drainer ran",
			records(launchAction(120, autoscaling.ResultContinue, autoscaling.EndTimedOut), usableAt(3), false),
			launchCounts{Launches: 1, Lapsed: 1}, []string{"lapsed at 12:02:00.000 while the drainer ran"}},
		{"a launch lapsed while the drainer was deliberately down", func() launchRecords {
			r := records(launchAction(120, autoscaling.ResultContinue, autoscaling.EndTimedOut), nil, false)
			r.down = []span{{at(60), at(180)}}
			return r
		}(), launchCounts{Launches: 1, Lapsed: 1}, nil},
		{"a launch left pending", records(launchAction(0, "", ""), nil, false),
			launchCounts{Launches: 1, Pending: 1}, []string{"launch action still pending at the end, 5m0s after it started (never usable)"}},
		{"a failed registration abandoned", records(abandoned(8), nil, true),
			launchCounts{Launches: 1, Abandoned: 1, RegistrationFailed: 1}, nil},
		{"a failed registration let in with CONTINUE", records(continued(8), nil, true),
			launchCounts{Launches: 1, Early: 1}, []string{"REGISTRATION_FAILED (trunk interface failed), but its launch action ended completed CONTINUE, not completed ABANDON",
				"completed CONTINUE at 12:00:08.000, before ECS could use the instance"}},
		{"a failed registration whose action lapsed", records(launchAction(120, autoscaling.ResultContinue, autoscaling.EndTimedOut), nil, true),
			launchCounts{Launches: 1, Early: 1, Lapsed: 1}, []string{"REGISTRATION_FAILED (trunk interface failed), but its launch action ended timed-out CONTINUE", "lapsed at 12:02:00.000"}},
		{"a failed registration with no launch action", func() launchRecords {
			r := records(continued(5), usableAt(4), false)
			r.failed["i-2"] = "trunk interface failed"
			return r
		}(), launchCounts{Launches: 1, Ready: 1}, []string{"i-2: REGISTRATION_FAILED (trunk interface failed) with no launch action of the drainer's hook"}},
		{"a silent agent's launch abandoned at DRAINER_MAX_LAUNCH", records(abandoned(60.2), nil, false),
			launchCounts{Launches: 1, Abandoned: 1, Deadline: 1}, nil},
		{"a silent agent's launch abandoned within the deadline's slack", records(abandoned(58.5), nil, false),
			launchCounts{Launches: 1, Abandoned: 1, Deadline: 1}, nil},
		{"a launch abandoned before DRAINER_MAX_LAUNCH with no failed registration", records(abandoned(30), nil, false),
			launchCounts{Launches: 1, Abandoned: 1}, []string{"launch completed ABANDON 30s after it started, before DRAINER_MAX_LAUNCH (1m0s), with no REGISTRATION_FAILED"}},
		{"a launch abandoned though ECS could use the instance", records(abandoned(60.2), usableAt(59), false),
			launchCounts{Launches: 1, Abandoned: 1}, []string{"launch completed ABANDON at 12:01:00.200, though ECS could use the instance (usable from 12:00:59.000)"}},
		{"a launch completed by someone other than the drainer", func() launchRecords {
			r := records(continued(5), usableAt(4), false)
			r.calls = nil
			return r
		}(), launchCounts{Launches: 1}, []string{"launch action completed CONTINUE at 12:00:05.000, but the drainer sent no such completion"}},
		{"a launch the drainer completed with the other result", func() launchRecords {
			r := records(continued(5), usableAt(4), false)
			r.calls[0].Result = autoscaling.ResultAbandon
			return r
		}(), launchCounts{Launches: 1}, []string{"but the drainer sent no such completion"}},
		{"a launch the drainer completed by instance id", func() launchRecords {
			r := records(continued(5), usableAt(4), false)
			r.calls[0].Token, r.calls[0].InstanceID = "", "i-1"
			return r
		}(), launchCounts{Launches: 1, Ready: 1}, nil},
		{"a launch ended skipped", records(launchAction(5, "", autoscaling.EndSkipped), usableAt(4), false),
			launchCounts{Launches: 1}, []string{`launch action ended "skipped" at 12:00:05.000, not completed`}},
		{"a warm-pool instance let into the pool, then abandoned when its registration failed on leaving it", func() launchRecords {
			into := continued(1)
			into.Token, into.Origin, into.Destination = "tok-0", "EC2", autoscaling.OriginWarmPool
			out := abandoned(20)
			out.Origin = autoscaling.OriginWarmPool
			r := records(out, nil, true)
			r.actions = []autoscaling.ActionView{into, out}
			r.calls = []localdeploy.LifecycleCall{completion(into), completion(out)}
			return r
		}(), launchCounts{Launches: 2, IntoWarmPool: 1, Abandoned: 1, RegistrationFailed: 1}, nil},
		{"a terminate action of the drainer, not a launch", func() launchRecords {
			r := records(continued(5), nil, false)
			r.actions[0].Hook, r.actions[0].Transition = localdeploy.HookName, autoscaling.TransitionTerminating
			return r
		}(), launchCounts{}, nil},
		{"container instance events the soak could not read", func() launchRecords {
			r := records(continued(5), usableAt(4), false)
			r.unreadable = 2
			return r
		}(), launchCounts{Launches: 1, Ready: 1}, []string{"2 container instance events the soak could not read"}},
		{"launch groups that ended as they should", func() launchRecords {
			r := records(continued(5), usableAt(4), false)
			r.groups = []groupEnd{{Name: "up", Desired: 2, InService: []string{"i-1", "i-2"}},
				{Name: "refreshed", Desired: 1, InService: []string{"i-3"}, Refresh: "Successful", WantRefresh: true}}
			return r
		}(), launchCounts{Launches: 1, Ready: 1, Groups: 2, GroupsReady: 2, Refreshes: 1, RefreshesDone: 1}, nil},
		{"a group short of its desired capacity: an abandoned launch not replaced", func() launchRecords {
			r := records(continued(5), usableAt(4), false)
			r.groups = []groupEnd{{Name: "up", Desired: 3, InService: []string{"i-1", "i-2"}}}
			return r
		}(), launchCounts{Launches: 1, Ready: 1, Groups: 1}, []string{"up: 2 instances in service at the end, want its desired 3"}},
		{"an instance in service that ECS cannot use", func() launchRecords {
			r := records(continued(5), usableAt(4), false)
			r.groups = []groupEnd{{Name: "up", Desired: 2, InService: []string{"i-1", "i-2"}, Unusable: []string{"i-2"}}}
			return r
		}(), launchCounts{Launches: 1, Ready: 1, Groups: 1}, []string{"up: in service at the end but not usable by ECS: i-2"}},
		{"a refresh that did not succeed", func() launchRecords {
			r := records(continued(5), usableAt(4), false)
			r.groups = []groupEnd{{Name: "refreshed", Desired: 1, InService: []string{"i-3"}, Refresh: "InProgress", WantRefresh: true},
				{Name: "never", Desired: 1, InService: []string{"i-4"}, WantRefresh: true}}
			return r
		}(), launchCounts{Launches: 1, Ready: 1, Groups: 2, GroupsReady: 2, Refreshes: 2},
			[]string{"refreshed: instance refresh InProgress at the end, want Successful", "never: instance refresh not found at the end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts, got := checkLaunches(tt.rec)
			if diff := cmp.Diff(tt.counts, counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			wantViolations(t, got, tt.want)
		})
	}
}

// instanceEvent is the envelope of a container instance state change of
// i-1 in cluster c.
func instanceEvent(status string, connected bool, updatedAt string) []byte {
	return fmt.Appendf(nil, `{"source":"aws.ecs","detail-type":"ECS Container Instance State Change","detail":{"agentConnected":%t,`+
		`"clusterArn":"arn:aws:ecs:us-east-1:123456789012:cluster/c","ec2InstanceId":"i-1","status":%q,"statusReason":"why","updatedAt":%q}}`,
		connected, status, updatedAt)
}

// When an instance became usable must be ECS's time, not the soak's: the
// bus delivers events in parallel and in any order, so the earliest
// updatedAt of an ACTIVE, connected event wins; REGISTERING, or ACTIVE
// with the agent not yet connected, is not usable. An event the soak
// cannot read must be counted, or a missed registration would pass
// unnoticed.
func TestRegistrationsKeepECSOwnTimes(t *testing.T) {
	r := newRegistrations()
	for _, e := range [][]byte{
		instanceEvent("ACTIVE", true, "2026-03-01T12:00:09.000Z"),
		instanceEvent("REGISTERING", true, "2026-03-01T12:00:02.000Z"),
		instanceEvent("ACTIVE", false, "2026-03-01T12:00:03.000Z"),
		instanceEvent("ACTIVE", true, "2026-03-01T12:00:04.250Z"),
		instanceEvent("DRAINING", true, "2026-03-01T12:00:05.000Z"),
		instanceEvent("ACTIVE", true, "yesterday"),
		[]byte(`not json`),
	} {
		r.record(e)
	}
	usable, failed, unreadable := r.snapshot()
	if diff := cmp.Diff(map[string]map[string]time.Time{"i-1": {"c": at(4.25)}}, usable); diff != "" {
		t.Errorf("usable (-want +got):\n%s", diff)
	}
	if len(failed) != 0 || unreadable != 2 {
		t.Errorf("failed = %v, unreadable = %d; want none failed and 2 unreadable", failed, unreadable)
	}
	r.record(instanceEvent("REGISTRATION_FAILED", true, "2026-03-01T12:00:06.000Z"))
	if _, failed, _ := r.snapshot(); failed["i-1"] != "why" {
		t.Errorf("failed = %v, want i-1 with its statusReason", failed)
	}
}

// Each group must meet exactly its quota of failing and silent agents among
// its first launches, and every later launch (a replacement) must join,
// otherwise a soak could replace instances forever or test less than it
// says. The same seed must deal the same plan.
func TestAgentPlanDealsTheQuotaThenJoins(t *testing.T) {
	g := launchGroup{launches: 6, fails: 2, silent: 1}
	deal := func(seed uint64) []agentKind {
		p := newAgentPlan(rand.New(rand.NewPCG(seed, 1)), g) // #nosec G404 -- a test's seed
		var kinds []agentKind
		for i := range 10 {
			id := fmt.Sprintf("i-%d", i)
			kinds = append(kinds, p.kind(id))
			if p.kind(id) != kinds[i] {
				t.Fatalf("%s dealt twice", id)
			}
		}
		return kinds
	}
	kinds := deal(7)
	n := map[agentKind]int{}
	for _, k := range kinds[:6] {
		n[k]++
	}
	if diff := cmp.Diff(map[agentKind]int{agentJoins: 3, agentFails: 2, agentSilent: 1}, n); diff != "" {
		t.Errorf("first six launches (-want +got):\n%s", diff)
	}
	for i, k := range kinds[6:] {
		if k != agentJoins {
			t.Errorf("launch %d got %v, want a joining agent", i+6, k)
		}
	}
	if diff := cmp.Diff(kinds, deal(7)); diff != "" {
		t.Errorf("seed 7 dealt differently the second time (-first +second):\n%s", diff)
	}
}
