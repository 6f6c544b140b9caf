package localdeploy

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
)

// watchTick is how often Watch looks at the world: often enough that the
// demo's progress reads as live, rarely enough to cost nothing.
const watchTick = 250 * time.Millisecond

// Watch follows the drainer's lifecycle actions on cluster's instances until
// expected actions have ended or ctx is done, writing a progress line to out
// (nil: none) whenever an instance's drain changes. It returns the summary;
// its error is ctx's when the drains did not all end in time.
func (w *World) Watch(ctx context.Context, cluster string, expected int, out io.Writer) (Summary, error) {
	if out == nil {
		out = io.Discard
	}
	start := time.Now()
	tracked := map[string]*Drain{}
	last := map[string]string{}
	var order []string
	ticker := time.NewTicker(watchTick)
	defer ticker.Stop()
	for {
		ended := 0
		for _, a := range w.AWS.AutoScaling.Actions() {
			if a.Hook != HookName {
				continue
			}
			d, ok := tracked[a.InstanceID]
			if !ok {
				d = &Drain{InstanceID: a.InstanceID, TasksAtStart: len(w.LiveTasks(cluster, a.InstanceID, time.Time{}))}
				tracked[a.InstanceID] = d
				order = append(order, a.InstanceID)
			}
			state := w.progress(cluster, a, d)
			if state != last[a.InstanceID] {
				fmt.Fprintf(out, "[%6.1fs] %s  (%s)\n", time.Since(start).Seconds(), state, heldFor(a, d))
				last[a.InstanceID] = state
			}
			if a.Active {
				continue
			}
			// The instance goes only once every terminate hook let it
			// go: the other teams' hooks may hold it after the drainer.
			waiting := false
			for _, o := range w.otherActions(a) {
				state, held := w.otherProgress(a, o, d)
				if key := a.InstanceID + " " + o.Hook; state != last[key] {
					fmt.Fprintf(out, "[%6.1fs] %s  (%s)\n", time.Since(start).Seconds(), state, held)
					last[key] = state
				}
				waiting = waiting || o.Active
			}
			if !waiting {
				ended++
			}
		}
		if ended >= expected {
			break
		}
		select {
		case <-ctx.Done():
			return w.summary(order, tracked, time.Since(start)), fmt.Errorf("%d of %d drains ended: %w", ended, expected, ctx.Err())
		case <-ticker.C:
		}
	}
	return w.summary(order, tracked, time.Since(start)), nil
}

func heldFor(a autoscaling.ActionView, d *Drain) string {
	if a.Active {
		return fmt.Sprintf("draining %.1fs", d.Held.Seconds())
	}
	return fmt.Sprintf("held %.1fs", d.Held.Seconds())
}

// progress updates d from the action and renders what a person watching
// wants to see change: a line is printed only when this changes, with the
// time held beside it.
func (w *World) progress(cluster string, a autoscaling.ActionView, d *Drain) string {
	d.Heartbeats, d.End, d.Result = a.Heartbeats, a.End, a.Result
	if a.Active {
		d.Held = time.Since(a.Started)
		status := "not registered"
		if ci, ok := w.AWS.ECS.Instance(a.InstanceID); ok {
			status = ci.Status
		}
		left := w.LiveTasks(cluster, a.InstanceID, time.Time{})
		return fmt.Sprintf("%s  %s  %-14s tasks left %-3d heartbeats %d", a.InstanceID, w.lifecycleState(a.InstanceID), status, len(left), a.Heartbeats)
	}
	d.Held = a.Ended.Sub(a.Started)
	d.TasksAtRelease = w.LiveTasks(cluster, a.InstanceID, a.Ended)
	d.Lag = w.lastStopLag(cluster, a.InstanceID, a.Ended)
	return fmt.Sprintf("%s  released: %s %s, %d tasks left, %d heartbeats",
		a.InstanceID, a.End, a.Result, len(d.TasksAtRelease), a.Heartbeats)
}

// lifecycleState is the instance's Auto Scaling lifecycle state
// (Terminating:Wait, Warmed:Terminating:Wait...).
func (w *World) lifecycleState(instanceID string) string {
	in, ok := w.AWS.AutoScaling.Instance(instanceID)
	if !ok {
		return "unknown"
	}
	return in.LifecycleState
}

// otherActions are the actions of the other hooks that the transition of
// the drainer's action a started on the same instance.
func (w *World) otherActions(a autoscaling.ActionView) []autoscaling.ActionView {
	var out []autoscaling.ActionView
	for _, o := range w.AWS.AutoScaling.Actions() {
		if o.InstanceID == a.InstanceID && o.Hook != HookName && o.Transition == a.Transition && o.Started.Equal(a.Started) {
			out = append(out, o)
		}
	}
	return out
}

// otherProgress renders another hook's hold on the instance once the
// drainer's action a has ended, and records it in d.
func (w *World) otherProgress(a, o autoscaling.ActionView, d *Drain) (state, held string) {
	if !slices.Contains(d.OtherHooks, o.Hook) {
		d.OtherHooks = append(d.OtherHooks, o.Hook)
	}
	if o.Active {
		after := time.Since(a.Ended)
		d.HeldAfter = max(d.HeldAfter, after)
		return fmt.Sprintf("%s  %s  drainer done, held by hook %s (not the drainer's)", a.InstanceID, w.lifecycleState(a.InstanceID), o.Hook),
			fmt.Sprintf("%.1fs after the drainer", after.Seconds())
	}
	if !o.Ended.After(a.Ended) {
		return fmt.Sprintf("%s  hook %s had ended before the drainer's: %s %s", a.InstanceID, o.Hook, o.End, o.Result), "no wait"
	}
	after := o.Ended.Sub(a.Ended)
	d.HeldAfter = max(d.HeldAfter, after)
	return fmt.Sprintf("%s  hook %s %s %s by its owner: %s", a.InstanceID, o.Hook, o.End, o.Result, w.lifecycleState(a.InstanceID)),
		fmt.Sprintf("held %.1fs after the drainer", after.Seconds())
}

// lastStopLag is how long before ended the instance's last task to stop
// (before ended) reached STOPPED.
func (w *World) lastStopLag(cluster, instanceID string, ended time.Time) time.Duration {
	var last time.Time
	for _, t := range w.AWS.ECS.Tasks(cluster) {
		if t.EC2InstanceID == instanceID && !t.StoppedAt.IsZero() && !t.StoppedAt.After(ended) && t.StoppedAt.After(last) {
			last = t.StoppedAt
		}
	}
	if last.IsZero() {
		return 0
	}
	return ended.Sub(last)
}

// LiveTasks lists the tasks on the instance whose lastStatus was not STOPPED
// at the time at (zero: now).
func (w *World) LiveTasks(cluster, instanceID string, at time.Time) []string {
	var live []string
	for _, t := range w.AWS.ECS.Tasks(cluster) {
		if t.EC2InstanceID != instanceID {
			continue
		}
		if at.IsZero() && t.LastStatus != "STOPPED" || !at.IsZero() && (t.StoppedAt.IsZero() || t.StoppedAt.After(at)) {
			live = append(live, t.Group+" "+t.ARN)
		}
	}
	return live
}

func (w *World) summary(order []string, tracked map[string]*Drain, wall time.Duration) Summary {
	s := Summary{Wall: wall, APICalls: w.APICalls()}
	for _, id := range order {
		s.Drains = append(s.Drains, *tracked[id])
	}
	slices.SortFunc(s.Drains, func(a, b Drain) int { return cmp.Compare(a.Held, b.Held) })
	st := w.Function.Stats()
	s.Invocations, s.ColdStarts, s.Errors = st.Invocations, st.ColdStarts, st.Errors
	v, inFlight, delayed := w.AWS.SQS.Counts(w.DLQURL)
	s.DLQ = v + inFlight + delayed
	return s
}
