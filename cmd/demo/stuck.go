package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// The seed case of a drain that cannot finish (issue 14,
// containers-roadmap#2467): a web service on fixed host port 80 at 100 %
// minimum healthy, one task on each instance. When one instance drains,
// ECS will not stop its task before a replacement runs, and the
// replacement has nowhere to go: every instance that stays already uses
// port 80, and nothing is launching. -stuck scales in one instance of such
// a group and shows the drainer saying so at the drain's first hop, then
// ending the drain through DRAINER_STUCK_AFTER, long before its deadline.

// stuckPort is the web service's fixed host port in the seed case.
const stuckPort = 80

// stuckRun is what the -stuck scenario saw of its one drain.
type stuckRun struct {
	instanceID string
	started    time.Time   // the lifecycle action's start: the drain's
	diagnoses  []diagnosis // the drain's diagnosis lines, as they came
	stuck      time.Time   // the stuck outcome line's arrival, zero if none
	action     autoscaling.ActionView
}

// diagnosis is a diagnosis line and when the scenario read it.
type diagnosis struct {
	at   time.Time
	line localdeploy.LogLine
}

// hostPort returns the first diagnosis that found a task no_capacity for
// lack of the seed case's host port.
func (r *stuckRun) hostPort() (diagnosis, bool) {
	port := fmt.Sprintf("host port %d", stuckPort)
	for _, d := range r.diagnoses {
		if slices.ContainsFunc(d.line.Findings(), func(f localdeploy.Finding) bool {
			return f.Reason == contract.ReasonNoCapacity && strings.HasPrefix(f.Resource, port)
		}) {
			return d, true
		}
	}
	return diagnosis{}, false
}

// runStuck deploys the checked-in template with DRAINER_STUCK_AFTER set to
// o.stuckAfter (the template leaves it off), builds the seed case, scales
// in one instance and follows its drain, printing the diagnosis as soon as
// the function logs it.
func runStuck(ctx context.Context, o options, d localdeploy.Deployment, out io.Writer, step func(string, ...any)) error {
	r, err := stuckDrain(ctx, o, d, out, step)
	if err != nil {
		return err
	}
	if v := r.violations(o); len(v) > 0 {
		for _, line := range v {
			fmt.Fprintln(out, "VIOLATION:", line)
		}
		return fmt.Errorf("the stuck drain did not end as it must: %d violations", len(v))
	}
	first, _ := r.hostPort()
	fmt.Fprintf(out, "OK: diagnosed %s (host port %d) %.1fs into the drain, within one poll (%s); ended %s after %.1fs (%s %s), before its %s deadline\n",
		contract.ReasonNoCapacity, stuckPort, first.at.Sub(r.started).Seconds(), o.poll, contract.OutcomeStuck, r.action.Ended.Sub(r.started).Seconds(),
		contract.StuckAfter.Env, o.stuckAfter, o.maxDrain)
	return nil
}

// stuckDrain runs the scenario and returns what it saw; its error is the
// scenario's failing to run, not the drain's ending wrong.
func stuckDrain(ctx context.Context, o options, d localdeploy.Deployment, out io.Writer, step func(string, ...any)) (*stuckRun, error) {
	switch {
	case o.instances < 2:
		return nil, fmt.Errorf("-stuck wants at least two instances, got -instances %d: one to drain, one using port %d", o.instances, stuckPort)
	case o.stuckAfter <= 0 || o.stuckAfter >= o.maxDrain:
		return nil, fmt.Errorf("-stuck wants 0 < -stuck-after < -max-drain, got %s and %s", o.stuckAfter, o.maxDrain)
	}
	// Both the watch and the function's log lines write to out, from
	// their own goroutines.
	out = &lockedWriter{w: out}
	r := &stuckRun{}
	var mu sync.Mutex
	var w *localdeploy.World
	var watchStart time.Time
	onLine := func(l localdeploy.LogLine) {
		mu.Lock()
		defer mu.Unlock()
		if w == nil || l.InstanceID == "" {
			return
		}
		switch {
		case l.Msg == localdeploy.MsgDiagnosis:
			a, ok := drainerAction(w, l.InstanceID)
			if !ok {
				return
			}
			now := time.Now()
			r.instanceID, r.started = l.InstanceID, a.Started
			r.diagnoses = append(r.diagnoses, diagnosis{at: now, line: l})
			printDiagnosis(out, now.Sub(watchStart), now.Sub(a.Started), l)
		case l.Outcome == contract.OutcomeStuck && r.stuck.IsZero():
			r.stuck = time.Now()
			fmt.Fprintf(out, "[%6.1fs] %s  %s: %s\n", time.Since(watchStart).Seconds(), l.InstanceID, l.Level, l.Msg)
		}
	}
	step("starting a local AWS and deploying the construct's template for cluster %q into it, with %s=%s ...",
		cluster, contract.StuckAfter.Env, o.stuckAfter)
	logs := newMetricLog(o.logs(out))
	w0, err := localdeploy.Start(ctx, d, localdeploy.FunctionOptions{
		Binary: o.binary, PollInterval: o.poll, MaxDrain: o.maxDrain, StuckAfter: o.stuckAfter, BootTime: o.boot,
		Logs: localdeploy.LogLines(logs, onLine),
	})
	if err != nil {
		return nil, err
	}
	defer w0.Close()
	step("creating the cluster, its group of %d instances and service web on host port %d at 100%% minimum healthy, one task per instance ...", o.instances, stuckPort)
	ids, err := w0.Group(ctx, localdeploy.GroupSpec{Name: group, Cluster: cluster, Instances: o.instances, Resources: instanceResources,
		HeartbeatTimeout: int32(o.heartbeat)}) // #nosec G115 -- Auto Scaling rejects anything outside 30..7200
	if err != nil {
		return nil, err
	}
	web := ecs.ServiceSpec{Name: "web", DesiredCount: len(ids), CPU: 256, Memory: 512, HostPort: stuckPort, MinimumHealthyPercent: 100, MaximumPercent: 200,
		StartDelay: o.startDelay, StopDelay: o.stopDelay}
	if err := w0.AWS.ECS.CreateService(cluster, web); err != nil {
		return nil, err
	}
	// A service still starting tasks is "placing", not stuck: the scale-in
	// waits for every web task to run.
	if err := running(ctx, w0, "service:web", len(ids)); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "local AWS on %s: cluster %q on group %q, %d instances, web's %d tasks RUNNING, each on its own instance's port %d\n",
		w0.AWS.URL, cluster, group, len(ids), len(ids), stuckPort)
	fmt.Fprintf(out, "drainer: real bootstrap under the local Lambda runtime, poll %s, %s %s, max drain %s, hook heartbeat timeout %ds\n",
		o.poll, contract.StuckAfter.Env, o.stuckAfter, o.maxDrain, o.heartbeat)
	fmt.Fprintln(out, "scaling in by 1: its web task cannot move (no other instance has port 80 free, none is launching) and ECS will not stop it first (minimum healthy 100%)")
	fmt.Fprintln(out)
	mu.Lock()
	w, watchStart = w0, time.Now()
	mu.Unlock()
	if err := w0.ScaleIn(ctx, group, 1); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, o.maxDrain+time.Minute)
	defer cancel()
	s, err := w0.Watch(wctx, cluster, 1, out)
	s.Print(out)
	if err != nil {
		return nil, err
	}
	logs.settle(ctx)
	m, err := readMetrics(logs.Lines())
	if err != nil {
		return nil, err
	}
	m.Print(out)
	mu.Lock()
	defer mu.Unlock()
	if r.instanceID == "" && len(s.Drains) > 0 {
		r.instanceID = s.Drains[0].InstanceID
	}
	if a, ok := drainerAction(w0, r.instanceID); ok {
		r.action, r.started = a, a.Started
	}
	return r, nil
}

// violations lists how the drain broke what -stuck shows: diagnosed
// no_capacity naming the host port within one poll of its start, and
// completed with CONTINUE (the template's timeout policy) as stuck, after
// DRAINER_STUCK_AFTER and before its deadline.
func (r *stuckRun) violations(o options) []string {
	var v []string
	first, ok := r.hostPort()
	switch {
	case len(r.diagnoses) == 0:
		v = append(v, "no diagnosis line")
	case !ok:
		last := r.diagnoses[len(r.diagnoses)-1].line
		v = append(v, fmt.Sprintf("diagnosis %v %s, want a %s task lacking host port %d", last.Reasons, last.Tasks, contract.ReasonNoCapacity, stuckPort))
	case first.at.Sub(r.started) > o.poll:
		v = append(v, fmt.Sprintf("diagnosed %s %.1fs into the drain, want within one poll (%s)", contract.ReasonNoCapacity, first.at.Sub(r.started).Seconds(), o.poll))
	}
	a := r.action
	held := a.Ended.Sub(a.Started)
	switch {
	case r.stuck.IsZero():
		v = append(v, fmt.Sprintf("no %q outcome logged", contract.OutcomeStuck))
	case a.Active || a.End != autoscaling.EndCompleted || a.Result != autoscaling.ResultContinue:
		v = append(v, fmt.Sprintf("action ended %q %q, want completed CONTINUE by the drainer", a.End, a.Result))
	case held < o.stuckAfter || held >= o.maxDrain:
		v = append(v, fmt.Sprintf("held %.1fs, want between %s (%s) and %s (the deadline)", held.Seconds(), o.stuckAfter, contract.StuckAfter.Env, o.maxDrain))
	}
	return v
}

// printDiagnosis writes a diagnosis line as a person reads it: when, how
// long into the drain, the reasons with their counts, what would unblock.
func printDiagnosis(out io.Writer, at, into time.Duration, l localdeploy.LogLine) {
	reasons := make([]string, 0, len(l.Reasons))
	for reason, n := range l.Reasons {
		reasons = append(reasons, fmt.Sprintf("%s %d", reason, n))
	}
	slices.Sort(reasons)
	var resources []string
	for _, f := range l.Findings() {
		if f.Resource != "" && !slices.Contains(resources, f.Resource) {
			resources = append(resources, f.Resource)
		}
	}
	what := strings.Join(reasons, ", ")
	if len(resources) > 0 {
		what += " (" + strings.Join(resources, ", ") + ")"
	}
	fmt.Fprintf(out, "[%6.1fs] %s  %s diagnosis %.1fs into the drain: %s\n", at.Seconds(), l.InstanceID, l.Level, into.Seconds(), what)
	for _, u := range l.Unblock {
		fmt.Fprintf(out, "           unblock: %s\n", u)
	}
}

// drainerAction is the drainer's latest terminate action on the instance.
func drainerAction(w *localdeploy.World, instanceID string) (autoscaling.ActionView, bool) {
	var found autoscaling.ActionView
	ok := false
	for _, a := range w.AWS.AutoScaling.Actions() {
		if a.InstanceID == instanceID && a.Hook == localdeploy.HookName && a.Transition == autoscaling.TransitionTerminating && (!ok || a.Started.After(found.Started)) {
			found, ok = a, true
		}
	}
	return found, ok
}

// running waits until n of the cluster's tasks of the group run.
func running(ctx context.Context, w *localdeploy.World, taskGroup string, n int) error {
	for {
		up := 0
		for _, t := range w.AWS.ECS.Tasks(cluster) {
			if t.Group == taskGroup && t.LastStatus == "RUNNING" && t.DesiredStatus == "RUNNING" {
				up++
			}
		}
		if up >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d %s tasks running: %w", up, n, taskGroup, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
