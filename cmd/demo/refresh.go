package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// agentConnectAfter is how long after registering a new instance's agent
// opens its connection to ECS. Until then ECS places nothing there, which
// is why the gate waits for agentConnected and not for ACTIVE alone.
const agentConnectAfter = time.Second

// webService is the service whose capacity the comparison measures.
const webService = "web"

// refreshRun is one world's instance refresh: the construct's template
// with the launch gate, or without it.
type refreshRun struct {
	label string
	d     localdeploy.Deployment

	start, end time.Time // on its local AWS's clock
	drains     localdeploy.Summary
	launches   []localdeploy.Launch
	capacity   localdeploy.Capacity
	metrics    metrics
	timeline   timelinePanel
}

func (r *refreshRun) gated() bool {
	_, ok := r.d.LaunchHook()
	return ok
}

// compareRefreshes runs the same instance refresh in two local AWSs at once,
// one deployed from the checked-in template and one from it without the
// launch gate, shows both live and then each one's drains and launches and
// the web service's capacity side by side. It fails if a drain did not end
// as it must in either, or if the gate let an instance through before ECS
// could use it or left it pending.
func compareRefreshes(ctx context.Context, o options, d localdeploy.Deployment, out io.Writer, step func(string, ...any)) error {
	runs, err := refreshBoth(ctx, o, d, out, step)
	if err != nil {
		return err
	}
	for _, r := range runs {
		fmt.Fprintf(out, "\n%s: the old instances' drains", r.label)
		r.drains.Print(out)
		fmt.Fprintf(out, "%s: the new instances, from the refresh's start\n", r.label)
		localdeploy.PrintLaunches(out, r.launches, r.start)
	}
	for _, r := range runs {
		fmt.Fprintf(out, "\n%s:", r.label)
		r.metrics.Print(out)
	}
	if o.timeline != "" {
		panels := make([]timelinePanel, len(runs))
		for i, r := range runs {
			panels[i] = r.timeline
		}
		if err := writeTimelineFile(o.timeline, panels); err != nil {
			return err
		}
		fmt.Fprintf(out, "\ntimeline of the drains and launches: %s\n", o.timeline)
	}
	printComparison(out, o, runs)
	if v := violations(runs); len(v) > 0 {
		for _, line := range v {
			fmt.Fprintln(out, "VIOLATION:", line)
		}
		return fmt.Errorf("%d lifecycle actions did not end as they must", len(v))
	}
	fmt.Fprintln(out, "OK: every lifecycle action was completed by the drainer, no task left running, and the gate let each new instance in only once ECS could use it")
	return nil
}

// refreshBoth deploys the two worlds, the gated one first, and refreshes
// both at once, writing their live lines to out, each behind its label.
func refreshBoth(ctx context.Context, o options, d localdeploy.Deployment, out io.Writer, step func(string, ...any)) ([]*refreshRun, error) {
	hook, ok := d.LaunchHook()
	if !ok {
		return nil, fmt.Errorf("%s has no launch hook: regenerate it with the launch gate on", templateFile)
	}
	runs := []*refreshRun{{label: "gate on", d: d}, {label: "gate off", d: d.WithoutLaunchGate()}}
	step("starting two local AWSs: one with the construct's template for cluster %q (cmd/demo/%s: %d rules, the launch hook %s), one with the same as DisableLaunchGate makes it (%d rules, no launch hook) ...",
		cluster, templateFile, len(runs[0].d.Rules), hook.Name, len(runs[1].d.Rules))
	step("creating in each the cluster, its group of %d instances and their tasks; the ECS agents of new instances register %s to %s after boot (seed %d) ...",
		o.instances, o.register, o.register+o.jitter, o.seed)
	agent := &localaws.Agent{RegisterAfter: o.register, RegisterJitter: o.jitter, Seed: o.seed, ConnectAfter: agentConnectAfter}
	lines := &lineWriter{w: out}
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() { errs[i] = r.run(ctx, o, agent, lines.prefixed(fmt.Sprintf("%-8s | ", r.label))) })
	}
	wg.Wait()
	return runs, errors.Join(errs...)
}

// run deploys the world, refreshes its group and records what happened.
func (r *refreshRun) run(ctx context.Context, o options, agent *localaws.Agent, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the other team's loop
	logs := newMetricLog(o.logs(out))
	w, ids, err := deploy(ctx, o, r.d, agent, logs)
	if err != nil {
		return fmt.Errorf("%s: %w", r.label, err)
	}
	defer w.Close()
	if err := steady(ctx, w); err != nil {
		return fmt.Errorf("%s: %w", r.label, err)
	}
	how := "no launch hook: Auto Scaling counts a new instance once EC2 has booted it"
	if r.gated() {
		how = "launch hook " + contract.LaunchHookName + ": the drainer lets a new instance in once ECS can use it"
	}
	fmt.Fprintf(out, "local AWS on %s: %d instances, %d tasks; %s\n", w.AWS.URL, len(ids), len(w.AWS.ECS.Tasks(cluster)), how)
	fmt.Fprintf(out, "starting an instance refresh of all %d instances (MinHealthyPercentage 90 by default: one instance at a time, terminated as its replacement launches)\n", len(ids))
	r.start = w.AWS.Clock.Now()
	if err := w.Refresh(ctx, group); err != nil {
		return fmt.Errorf("%s: %w", r.label, err)
	}
	// Past the max drain every drain ends on its own; the margin covers
	// the last poll, the hops and the last registration.
	ctx, stop := context.WithTimeout(ctx, o.maxDrain+time.Minute)
	defer stop()
	var drainErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.drains, drainErr = w.Watch(ctx, cluster, len(ids), out)
	}()
	_, launchErr := w.WatchLaunches(ctx, group, r.start, len(ids), out)
	<-done
	err = errors.Join(drainErr, launchErr)
	if err == nil {
		err = steady(ctx, w)
	}
	r.end = w.AWS.Clock.Now()
	r.launches = w.Launches(group, r.start)
	r.capacity = w.Capacity(cluster, webService, r.start, r.end)
	logs.settle(ctx)
	r.timeline = drainTimeline(w, cluster, fmt.Sprintf("%s: instance refresh of %d instances", r.label, len(ids)), r.start, r.launches)
	var merr error
	r.metrics, merr = readMetrics(logs.Lines())
	err = errors.Join(err, merr)
	if err != nil {
		return fmt.Errorf("%s: %w", r.label, err)
	}
	return nil
}

// steady waits until the web service runs its desired count, every task
// RUNNING: the state a refresh starts from and ends in.
func steady(ctx context.Context, w *localdeploy.World) error {
	for {
		now := w.AWS.Clock.Now()
		c := w.Capacity(cluster, webService, now, now)
		if c.Desired > 0 && c.MinRunning >= c.Desired {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the %s service has %d of %d tasks running: %w", webService, c.MinRunning, c.Desired, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func printComparison(out io.Writer, o options, runs []*refreshRun) {
	desired := runs[0].capacity.Desired
	floor := (desired*o.minHealthy + 99) / 100
	fmt.Fprintf(out, "\nThe same instance refresh of %d instances, with and without the launch gate (web: %d tasks, minimum healthy %d%% = %d tasks; agents registering %s to %s after boot):\n",
		o.instances, desired, o.minHealthy, floor, o.register, o.register+o.jitter)
	row := func(name string, value func(r *refreshRun) string) {
		fmt.Fprintf(out, "  %-52s %10s %10s\n", name, value(runs[0]), value(runs[1]))
	}
	row("", func(r *refreshRun) string { return r.label })
	row("web task-seconds with no place to run", func(r *refreshRun) string { return fmt.Sprintf("%.1f", r.capacity.Unplaced) })
	row("lowest count of RUNNING web tasks", func(r *refreshRun) string { return fmt.Sprint(r.capacity.MinRunning) })
	row("refresh took (every instance replaced, web steady)", func(r *refreshRun) string { return fmt.Sprintf("%.1fs", r.end.Sub(r.start).Seconds()) })
}

// violations lists what broke the drainer's promises in either world: a
// drain that did not end as it must, and with the gate a launch let
// through before ECS could use the instance, left pending, or an instance
// launched around the hook.
func violations(runs []*refreshRun) []string {
	var v []string
	for _, r := range runs {
		for _, line := range r.drains.Violations(false) {
			v = append(v, r.label+": "+line)
		}
		for _, l := range r.launches {
			switch {
			case r.gated() && !l.Gated:
				v = append(v, fmt.Sprintf("%s: %s: launched without the launch hook", r.label, l.InstanceID))
			case !r.gated() && l.Gated:
				v = append(v, fmt.Sprintf("%s: %s: held by a launch hook the template does not have", r.label, l.InstanceID))
			case l.Violation() != "":
				v = append(v, r.label+": "+l.Violation())
			}
		}
	}
	return v
}

// lineWriter writes whole lines from the worlds running at once, each
// behind its label.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lineWriter) prefixed(prefix string) io.Writer {
	return &prefixWriter{lw: lw, prefix: prefix}
}

type prefixWriter struct {
	lw     *lineWriter
	prefix string
	buf    []byte // a line not yet ended
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.lw.mu.Lock()
	defer p.lw.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.lw.w, "%s%s", p.prefix, p.buf[:i+1]); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
}
