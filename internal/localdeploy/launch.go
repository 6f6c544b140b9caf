package localdeploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
)

// ecsView keeps, from the container instance state change events ECS
// emits, when each EC2 instance first became usable: ACTIVE with its agent
// connected, which is when ECS may place a task on it. The event carries
// the moment of the change on the local AWS's clock (updatedAt), so what
// the watch reports does not depend on when it looked.
type ecsView struct {
	mu     sync.Mutex
	usable map[string]time.Time // EC2 instance id -> first ACTIVE and connected
	order  []string
}

// eventTime is how ECS events write their timestamps (ISO 8601 with
// milliseconds).
const eventTime = "2006-01-02T15:04:05.000Z"

func (v *ecsView) note(e awswire.Event) {
	if e.DetailType != contract.DetailTypeInstanceState {
		return
	}
	b, err := json.Marshal(e.Detail)
	if err != nil {
		return
	}
	var d struct {
		EC2InstanceID  string `json:"ec2InstanceId"`
		Status         string `json:"status"`
		AgentConnected bool   `json:"agentConnected"`
		UpdatedAt      string `json:"updatedAt"`
	}
	if json.Unmarshal(b, &d) != nil || d.Status != contract.InstanceActive || !d.AgentConnected {
		return
	}
	at, err := time.Parse(eventTime, d.UpdatedAt)
	if err != nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.usable == nil {
		v.usable = map[string]time.Time{}
	}
	if _, seen := v.usable[d.EC2InstanceID]; !seen {
		v.usable[d.EC2InstanceID] = at
		v.order = append(v.order, d.EC2InstanceID)
	}
}

// since returns the instances first usable at or after t, in that order.
func (v *ecsView) since(t time.Time) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var ids []string
	for _, id := range v.order {
		if !v.usable[id].Before(t.Truncate(time.Millisecond)) {
			ids = append(ids, id)
		}
	}
	return ids
}

func (v *ecsView) usableAt(id string) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.usable[id]
}

// Launch is one instance a group launched, with the drainer's launch
// action on it if the launch gate held it.
type Launch struct {
	InstanceID string
	Launched   time.Time // EC2 launched it (Auto Scaling's LaunchTime)
	// Usable is when ECS could first place a task on it: ACTIVE, agent
	// connected. Zero while it is not.
	Usable time.Time
	// Gated is whether the drainer's launch hook held it; Started, Ended,
	// End and Result are that action's.
	Gated bool
	// IntoWarmPool is a launch into the group's warm pool, which the gate
	// completes at once: the agent registers only when the instance leaves
	// the pool.
	IntoWarmPool   bool
	Started, Ended time.Time
	End            autoscaling.End // "" while pending
	Result         string
}

// Violation says how the launch broke the gate's promise, or "": an action
// completed CONTINUE before ECS could use the instance (or never usable),
// an ABANDON of an instance ECS could use, an action that lapsed to its
// hook's default result, or one still pending.
func (l Launch) Violation() string {
	switch {
	case !l.Gated:
		return ""
	case l.End == "":
		return fmt.Sprintf("%s: launch action left pending", l.InstanceID)
	case l.End != autoscaling.EndCompleted:
		return fmt.Sprintf("%s: launch action ended %q, want completed by the drainer", l.InstanceID, l.End)
	case l.IntoWarmPool:
		return ""
	case l.Result == autoscaling.ResultContinue && (l.Usable.IsZero() || l.Ended.Before(l.Usable)):
		return fmt.Sprintf("%s: launch completed CONTINUE at %s, before ECS could use the instance (%s)", l.InstanceID,
			l.Ended.Format(time.TimeOnly+".000"), usableText(l.Usable))
	case l.Result == autoscaling.ResultAbandon && !l.Usable.IsZero() && !l.Ended.Before(l.Usable):
		return fmt.Sprintf("%s: launch completed ABANDON at %s, after ECS could use the instance (%s)", l.InstanceID,
			l.Ended.Format(time.TimeOnly+".000"), usableText(l.Usable))
	}
	return ""
}

func usableText(t time.Time) string {
	if t.IsZero() {
		return "never ACTIVE and connected"
	}
	return "ACTIVE and connected at " + t.Format(time.TimeOnly+".000")
}

// WatchLaunches follows the instances group launches from since on (on the
// local AWS's clock) until n of them are in service and usable by ECS, with
// their launch actions ended if the gate held them, or ctx is done. It
// writes a line to out (nil: none) when an instance is launched, when ECS
// can use it and when its launch action ends, each timed from since.
// Instances the gate abandoned are reported too, besides the n.
func (w *World) WatchLaunches(ctx context.Context, group string, since time.Time, n int, out io.Writer) ([]Launch, error) {
	if out == nil {
		out = io.Discard
	}
	printed := map[string]int{} // instance -> lines printed: launched, usable, ended
	ticker := time.NewTicker(watchTick)
	defer ticker.Stop()
	for {
		launches := w.Launches(group, since)
		ready := 0
		for _, l := range launches {
			w.printLaunch(out, l, since, printed)
			in, _ := w.AWS.AutoScaling.Instance(l.InstanceID)
			if in.LifecycleState == autoscaling.StateInService && !l.Usable.IsZero() && (!l.Gated || l.End != "") {
				ready++
			}
		}
		if ready >= n {
			return launches, nil
		}
		select {
		case <-ctx.Done():
			return launches, fmt.Errorf("%d of %d launched instances ready: %w", ready, n, ctx.Err())
		case <-ticker.C:
		}
	}
}

func (w *World) printLaunch(out io.Writer, l Launch, since time.Time, printed map[string]int) {
	at := func(t time.Time) string { return fmt.Sprintf("[%6.1fs]", t.Sub(since).Seconds()) }
	launched := l.Launched.Sub(since).Seconds()
	if printed[l.InstanceID] == 0 && l.Gated {
		fmt.Fprintf(out, "%s %s  launched by EC2 at %.1fs, booted: held in Pending:Wait by the launch hook %s\n", at(l.Started), l.InstanceID, launched, contract.LaunchHookName)
		printed[l.InstanceID] = 1
	}
	// Without a hook the watch learns of an instance only from ECS.
	if printed[l.InstanceID] < 2 && !l.Usable.IsZero() {
		how := ""
		if !l.Gated {
			how = fmt.Sprintf(", launched by EC2 at %.1fs and in service once booted: no launch hook", launched)
		}
		fmt.Fprintf(out, "%s %s  usable by ECS: ACTIVE, agent connected  (%.1fs after launch%s)\n", at(l.Usable), l.InstanceID, l.Usable.Sub(l.Launched).Seconds(), how)
		printed[l.InstanceID] = 2
	}
	if l.Gated && l.End != "" && printed[l.InstanceID] < 3 {
		after := "ECS never could use it"
		if !l.Usable.IsZero() {
			after = fmt.Sprintf("%+.1fs from ECS usable", l.Ended.Sub(l.Usable).Seconds())
		}
		fmt.Fprintf(out, "%s %s  launch action %s %s  (%s)\n", at(l.Ended), l.InstanceID, l.End, l.Result, after)
		printed[l.InstanceID] = 3
	}
}

// Launches returns the instances group launched at or after since: those
// the drainer's launch hook held, and those that became usable by ECS
// without it, in launch order.
func (w *World) Launches(group string, since time.Time) []Launch {
	byID := map[string]*Launch{}
	var order []string
	add := func(id string) *Launch {
		if l, ok := byID[id]; ok {
			return l
		}
		l := &Launch{InstanceID: id}
		if in, ok := w.AWS.AutoScaling.Instance(id); ok {
			l.Launched = in.LaunchTime
		}
		byID[id] = l
		order = append(order, id)
		return l
	}
	for _, a := range w.AWS.AutoScaling.Actions() {
		if a.Group != group || a.Hook != contract.LaunchHookName || a.Started.Before(since) {
			continue
		}
		l := add(a.InstanceID)
		l.Gated, l.Started, l.Ended, l.End, l.Result = true, a.Started, a.Ended, a.End, a.Result
		l.IntoWarmPool = a.Destination == contract.DestinationWarmPool
		if a.Active {
			l.Ended, l.End, l.Result = time.Time{}, "", ""
		}
	}
	for _, id := range w.ecsView.since(since) {
		if in, ok := w.AWS.AutoScaling.Instance(id); ok && in.Group == group && !in.LaunchTime.Before(since) {
			add(id)
		}
	}
	out := make([]Launch, 0, len(order))
	for _, id := range order {
		l := byID[id]
		l.Usable = w.ecsView.usableAt(id)
		out = append(out, *l)
	}
	slices.SortStableFunc(out, func(a, b Launch) int { return a.Launched.Compare(b.Launched) })
	return out
}

// Capacity is how a replica service's tasks fared over a window, read from
// the tasks' own timestamps on the local AWS's clock.
type Capacity struct {
	Desired int
	// Unplaced is the task-seconds the service had fewer tasks placed than
	// its desired count: tasks ECS wanted to run and had no instance for
	// (ECS places a task only where it fits, so these are the replacements
	// that, on AWS, are reported "unable to place a task"). A placed task
	// counts from its creation, PENDING included, until it is told to stop.
	Unplaced float64
	// MinRunning is the lowest count of the service's tasks RUNNING and not
	// told to stop: the ones serving, which minimumHealthyPercent counts.
	MinRunning int
}

// Capacity measures service in cluster from one instant to another.
func (w *World) Capacity(cluster, service string, from, to time.Time) Capacity {
	desired := 0
	for _, v := range w.AWS.ECS.Services(cluster) {
		if len(v.ARN) > len(service) && v.ARN[len(v.ARN)-len(service)-1:] == "/"+service {
			desired = v.DesiredCount
		}
	}
	return MeasureCapacity(w.AWS.ECS.Tasks(cluster), "service:"+service, desired, from, to)
}

// MeasureCapacity is Capacity on a list of tasks: those of group (a task's
// group, "service:NAME") against a desired count, from one instant to
// another. Changes at the same instant count together, as the scheduler
// makes them: a task stopped and its replacement placed in one pass leave
// no gap.
func MeasureCapacity(tasks []ecs.TaskView, group string, desired int, from, to time.Time) Capacity {
	type change struct {
		at              time.Time
		placed, running int
	}
	var changes []change
	placed, running := 0, 0
	// count adds an interval [start, end) (end zero: open) to the level at
	// from, or to the changes within the window.
	count := func(start, end time.Time, placedDelta, runningDelta int) {
		if start.IsZero() || !end.IsZero() && !end.After(start) || !end.IsZero() && !end.After(from) || start.After(to) {
			return
		}
		if start.After(from) {
			changes = append(changes, change{start, placedDelta, runningDelta})
		} else {
			placed += placedDelta
			running += runningDelta
		}
		if !end.IsZero() && end.Before(to) {
			changes = append(changes, change{end, -placedDelta, -runningDelta})
		}
	}
	for _, k := range tasks {
		if k.Group != group {
			continue
		}
		// Told to stop at StoppingAt; a task whose instance was
		// deregistered may have reached STOPPED without it.
		leaves := k.StoppingAt
		if leaves.IsZero() {
			leaves = k.StoppedAt
		}
		count(k.CreatedAt, leaves, 1, 0)
		count(k.StartedAt, leaves, 0, 1)
	}
	slices.SortFunc(changes, func(a, b change) int { return a.at.Compare(b.at) })
	c := Capacity{Desired: desired, MinRunning: running}
	gap := func(until time.Time) float64 { return float64(max(0, desired-placed)) * until.Sub(from).Seconds() }
	for i := 0; i < len(changes); {
		at := changes[i].at
		c.Unplaced += gap(at)
		for ; i < len(changes) && changes[i].at.Equal(at); i++ {
			placed += changes[i].placed
			running += changes[i].running
		}
		c.MinRunning = min(c.MinRunning, running)
		from = at
	}
	c.Unplaced += gap(to)
	return c
}
