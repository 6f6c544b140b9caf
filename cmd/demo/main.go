// Command demo runs a full drain on the local AWS: it builds the drainer's
// bootstrap binary, deploys it as the construct's template for the demo's
// cluster says (EventBridge rules, SQS queues and DLQ, event source
// mappings, the function's settings, the terminate and launch hooks) next
// to an ECS cluster on an Auto Scaling group, scales the group in and shows
// each instance's drain live. As in a real account, the drainer's hook is
// not the group's only one: another team's log-flush hook holds each
// instance until its logs are shipped, after the drainer let it go, and one
// instance is terminated out of the group's warm pool. It exits 0 only if
// every lifecycle action was completed by the drainer with no task left
// running. `make demo` runs it.
//
// With -refresh it replaces every instance by an instance refresh instead,
// twice at once in two local AWSs: with the launch gate, and with the
// template as DisableLaunchGate makes it (refresh.go). The new instances'
// ECS agents register some seconds after boot, and the demo shows when
// each instance was launched, usable by ECS and let through by the gate,
// then how long the web service had tasks with no place to run and how few
// of them ran, in each world. It also exits 1 if the gate let an instance
// through before ECS could use it, or left one pending.
//
// With -stuck it runs the seed case of a drain that cannot finish instead
// (stuck.go): the drainer's diagnosis printed as the function logs it, then
// the drain ended early through DRAINER_STUCK_AFTER; it exits 0 only if
// the diagnosis said no_capacity for host port 80 within one poll of the
// drain's start and the drain ended stuck before its deadline.
//
// The template is checked in (demo.template.json), not synthesized: the
// CDK takes minutes to compile on a fresh machine, and the demo would wait
// for it behind one line. TestTheCheckedInTemplateIsTheConstructsSynth
// fails when the construct's synth no longer matches it.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	lsautoscaling "github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// The demo's cluster and group, the context its template was synthesized
// with.
const (
	group   = "demo-asg"
	cluster = "demo"
)

// demoTemplate is the construct's template for the demo's cluster and
// group, asset hash left out (templateFile).
//
//go:embed demo.template.json
var demoTemplate []byte

const templateFile = "demo.template.json"

type options struct {
	instances, scaleIn, tasks int
	poll, stopDelay, maxDrain time.Duration
	jobFor, flush             time.Duration
	heartbeat                 int
	refresh, verbose, warm    bool
	// stuck runs the seed case of a drain that cannot finish instead
	// (stuck.go), ended through DRAINER_STUCK_AFTER set to stuckAfter.
	stuck             bool
	stuckAfter        time.Duration
	binary, otherHook string
	// timeline is where the SVG timeline of the drains goes ("": none).
	timeline string
	// The instances' boot, their agents' registration (-refresh) and the
	// web service's start and minimum healthy percent.
	boot, register, jitter time.Duration
	seed                   uint64
	startDelay             time.Duration
	minHealthy             int
}

// instanceResources is each instance's size: 4 vCPUs and 8 GiB (a
// c7g.xlarge), so that the others have room for one instance's tasks, as a
// cluster sized for an instance refresh's batch of one has.
var instanceResources = ecs.Resources{CPU: 4096, Memory: 8192}

func main() {
	var o options
	flag.IntVar(&o.instances, "instances", 4, "instances in the Auto Scaling group")
	flag.IntVar(&o.scaleIn, "scale-in", 2, "instances the scale-in removes")
	flag.IntVar(&o.tasks, "tasks", 3, "web service tasks per instance")
	flag.IntVar(&o.minHealthy, "min-healthy", 50, "the web service's minimum healthy percent")
	flag.DurationVar(&o.startDelay, "start-delay", 2*time.Second, "how long a task takes from PENDING to RUNNING (image pull, start)")
	flag.DurationVar(&o.boot, "boot", time.Second, "how long EC2 takes to boot an instance before Auto Scaling sees it up")
	flag.DurationVar(&o.register, "register", 6*time.Second, "with -refresh: how long after boot a new instance's ECS agent registers, at least")
	flag.DurationVar(&o.jitter, "register-jitter", 8*time.Second, "with -refresh: plus up to this much more, drawn per instance from -seed")
	flag.Uint64Var(&o.seed, "seed", 1, "with -refresh: the seed of the registration delays")
	flag.DurationVar(&o.poll, "poll", 2*time.Second, "DRAINER_POLL_INTERVAL")
	flag.DurationVar(&o.stopDelay, "stop-delay", 3*time.Second, "how long a task takes to stop once told to (its stop timeout)")
	flag.DurationVar(&o.jobFor, "job", 20*time.Second, "how long the standalone job on the oldest instance runs")
	flag.DurationVar(&o.maxDrain, "max-drain", 2*time.Minute, "DRAINER_MAX_DRAIN")
	flag.IntVar(&o.heartbeat, "heartbeat", 30, "the lifecycle hook's heartbeat timeout in seconds (30 to 7200)")
	flag.BoolVar(&o.refresh, "refresh", false, "replace every instance by an instance refresh instead of a scale-in, with and without the launch gate side by side")
	flag.StringVar(&o.otherHook, "other-hook", "log-flush", "another team's terminate hook on the group, completed once the instance's logs are flushed (empty: none)")
	flag.DurationVar(&o.flush, "flush", 3*time.Second, "how long the other team flushes logs once an instance's containers have stopped")
	flag.BoolVar(&o.warm, "warm", true, "give the group a warm pool of one instance and terminate it out of the pool (not with -refresh)")
	flag.BoolVar(&o.stuck, "stuck", false, "a drain that cannot finish instead: web on fixed host port 80 at 100% minimum healthy on every instance, one instance scaled in, diagnosed and ended through DRAINER_STUCK_AFTER")
	flag.DurationVar(&o.stuckAfter, "stuck-after", 20*time.Second, "with -stuck: DRAINER_STUCK_AFTER")
	flag.BoolVar(&o.verbose, "v", false, "print the function's own log lines")
	flag.StringVar(&o.timeline, "timeline", timelineFile, "where to write the SVG timeline of the drains (empty: none; not with -stuck)")
	flag.StringVar(&o.binary, "binary", "", "a bootstrap binary built for this machine (default: build one)")
	flag.Parse()
	if o.stuck && !setOnCommandLine("instances") {
		o.instances = 3 // the seed case's small group
	}
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	switch {
	case o.instances < 1:
		return fmt.Errorf("want at least one instance, got -instances %d", o.instances)
	case o.stuck && o.refresh:
		return errors.New("-stuck and -refresh are two scenarios: pick one")
	case !o.refresh && !o.stuck && (o.scaleIn < 1 || o.scaleIn > o.instances):
		return fmt.Errorf("want 1 <= -scale-in <= -instances, got %d and %d", o.scaleIn, o.instances)
	}
	start := time.Now()
	step := func(format string, args ...any) {
		fmt.Fprintf(out, "[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	if o.binary == "" {
		dir, err := os.MkdirTemp("", "ecs-drainer-demo")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		step("building the drainer's bootstrap binary (./functions/drainer; the first build compiles the AWS SDK) ...")
		if o.binary, err = localdeploy.BuildBootstrap(ctx, dir); err != nil {
			return err
		}
	}
	d, err := localdeploy.ParseTemplate(demoTemplate)
	if err != nil {
		return fmt.Errorf("%s: %w", templateFile, err)
	}
	if o.refresh {
		return compareRefreshes(ctx, o, d, out, step)
	}
	if o.stuck {
		return runStuck(ctx, o, d, out, step)
	}
	_, err = scaleIn(ctx, o, d, out, step)
	return err
}

// scaleInRun is what the scale-in scenario saw: its drains, the function's
// metrics and the timeline drawn from them.
type scaleInRun struct {
	drains   localdeploy.Summary
	metrics  metrics
	timeline timelinePanel
}

// scaleIn runs the default scenario: a scale-in, and with -warm an
// instance terminated out of the warm pool, each drained live; then the
// metrics the function emitted and the timeline (o.timeline). Its error
// is any drain's not ending as it must, or a line failing the EMF
// specification.
func scaleIn(ctx context.Context, o options, d localdeploy.Deployment, out io.Writer, step func(string, ...any)) (*scaleInRun, error) {
	step("starting a local AWS and deploying the construct's template for cluster %q into it (cmd/demo/%s: %d rules, the function with a %s timeout, its event and poll queues) ...",
		cluster, templateFile, len(d.Rules), d.Timeout)
	step("creating the cluster, its group of %d instances and their tasks ...", o.instances)
	logs := newMetricLog(o.logs(out))
	w, ids, err := deploy(ctx, o, d, nil, logs)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	fmt.Fprintf(out, "local AWS on %s: cluster %q on group %q, %d instances, %d tasks\n", w.AWS.URL, cluster, group, len(ids), len(w.AWS.ECS.Tasks(cluster)))
	fmt.Fprintf(out, "drainer: real bootstrap under the local Lambda runtime, poll %s, max drain %s, hook heartbeat timeout %ds\n", o.poll, o.maxDrain, o.heartbeat)
	if o.otherHook != "" {
		fmt.Fprintf(out, "another team's terminate hook %q on the group: it ships each instance's logs for %s once its containers have stopped\n", o.otherHook, o.flush)
	}
	var warm string
	if o.warm {
		pool, err := w.WarmPool(ctx, group, 1)
		if err != nil {
			return nil, err
		}
		warm = pool[0]
		fmt.Fprintf(out, "warm pool: %s waits stopped in it, and is terminated out of it\n", warm)
	}

	expected := o.scaleIn
	fmt.Fprintf(out, "scaling in by %d\n", o.scaleIn)
	origin := w.AWS.Clock.Now()
	err = w.ScaleIn(ctx, group, o.scaleIn)
	if err == nil && warm != "" {
		expected++
		fmt.Fprintf(out, "terminating %s out of the warm pool\n", warm)
		_, err = w.ASG.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(warm), ShouldDecrementDesiredCapacity: aws.Bool(false)})
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out)
	// Past the max drain every drain ends on its own; the margin covers the
	// last poll and the hops.
	ctx, cancel := context.WithTimeout(ctx, o.maxDrain+time.Minute)
	defer cancel()
	type snapshot struct {
		table string
		at    time.Time
	}
	statusCtx, stopStatus := context.WithCancel(ctx)
	shot := make(chan snapshot, 1)
	go func() {
		table, at := midDrainStatus(statusCtx, w, o.maxDrain)
		shot <- snapshot{table, at}
	}()
	s, err := w.Watch(ctx, cluster, expected, out)
	stopStatus()
	if sn := <-shot; sn.table != "" {
		fmt.Fprintf(out, "\n`ecs-drainer status` at +%.0fs, mid-drain (cmd/ecs-drainer, in-process against this local AWS):\n%s\n", sn.at.Sub(origin).Seconds(), sn.table)
	}
	s.Print(out)
	logs.settle(ctx)
	r := &scaleInRun{drains: s, timeline: drainTimeline(w, cluster, fmt.Sprintf("scale-in by %d of %d instances", o.scaleIn, o.instances), origin, nil)}
	if warm != "" {
		r.timeline.Title += ", and " + warm + " terminated out of the warm pool"
	}
	m, merr := readMetrics(logs.Lines())
	r.metrics = m
	if merr != nil {
		return r, merr
	}
	m.Print(out)
	if o.timeline != "" {
		if err := writeTimelineFile(o.timeline, []timelinePanel{r.timeline}); err != nil {
			return r, err
		}
		fmt.Fprintf(out, "timeline of the drains: %s\n", o.timeline)
	}
	if err != nil {
		return r, err
	}
	if v := s.Violations(false); len(v) > 0 {
		for _, line := range v {
			fmt.Fprintln(out, "VIOLATION:", line)
		}
		return r, fmt.Errorf("%d drains did not end as they must", len(v))
	}
	fmt.Fprintln(out, "OK: every lifecycle action was completed by the drainer, with no task left running")
	return r, nil
}

// setOnCommandLine reports whether the flag was given.
func setOnCommandLine(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// logs is where the function's own log lines go: out with -v.
func (o options) logs(out io.Writer) io.Writer {
	if o.verbose {
		return out
	}
	return io.Discard
}

// deploy starts a local AWS with the deployment d and creates in it the
// demo's group, with the launch hook if d has one, its cluster and its
// workload, and the other team's hook, which it plays until ctx is done.
// The group's first instances register at once; agent, if set, is how the
// agents of the instances launched later join.
func deploy(ctx context.Context, o options, d localdeploy.Deployment, agent *localaws.Agent, logs io.Writer) (*localdeploy.World, []string, error) {
	w, err := localdeploy.Start(ctx, d, localdeploy.FunctionOptions{
		Binary: o.binary, PollInterval: o.poll, MaxDrain: o.maxDrain, Logs: logs, BootTime: o.boot,
	})
	if err != nil {
		return nil, nil, err
	}
	_, gated := d.LaunchHook()
	ids, err := w.Group(ctx, localdeploy.GroupSpec{Name: group, Cluster: cluster, Instances: o.instances, Resources: instanceResources,
		HeartbeatTimeout: int32(o.heartbeat), LaunchGate: gated, Agent: agent}) // #nosec G115 -- Auto Scaling rejects anything outside 30..7200
	if err == nil {
		err = workload(w, o, ids)
	}
	if err == nil && o.otherHook != "" {
		err = otherTeam(ctx, w, o)
	}
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return w, ids, nil
}

// otherTeam puts another team's terminate hook on the group and plays that
// team in the background until ctx is done: once an instance's containers
// have all stopped, it ships their last logs for o.flush and then completes
// its action. The drainer leaves that hook alone; the instance waits for it.
func otherTeam(ctx context.Context, w *localdeploy.World, o options) error {
	if err := w.OtherHook(group, o.otherHook, 300); err != nil {
		return err
	}
	quiet := map[string]time.Time{} // instance -> when its last container stopped
	t := w.NewOtherTeam(o.otherHook, func(a lsautoscaling.ActionView) (string, bool) {
		for _, task := range w.AWS.ECS.Tasks(cluster) {
			if task.EC2InstanceID == a.InstanceID && task.LastStatus != "STOPPED" {
				return "", false
			}
		}
		if quiet[a.InstanceID].IsZero() {
			quiet[a.InstanceID] = time.Now()
		}
		return lsautoscaling.ResultContinue, time.Since(quiet[a.InstanceID]) >= o.flush
	})
	go t.Run(ctx)
	return nil
}

// workload puts on the cluster what a real one has: a web service spread
// over every instance, an API on a fixed host port (one per instance), a
// log-agent daemon, and a standalone job on the oldest instance that ECS
// draining leaves alone.
func workload(w *localdeploy.World, o options, ids []string) error {
	specs := []ecs.ServiceSpec{
		{Name: "web", DesiredCount: o.tasks * o.instances, CPU: 256, Memory: 512, MinimumHealthyPercent: o.minHealthy,
			StartDelay: o.startDelay, StopDelay: o.stopDelay},
		{Name: "api", DesiredCount: max(1, o.instances-o.scaleIn), CPU: 256, Memory: 512, HostPort: 8080, MinimumHealthyPercent: 50,
			StartDelay: o.startDelay, StopDelay: o.stopDelay},
		{Name: "log-agent", Daemon: true, CPU: 64, Memory: 64, StopDelay: time.Second},
	}
	for _, s := range specs {
		if err := w.AWS.ECS.CreateService(cluster, s); err != nil {
			return err
		}
	}
	_, err := w.AWS.ECS.RunTask(cluster, ids[0], ecs.TaskSpec{Family: "nightly-report", CPU: 256, Memory: 512, RunFor: o.jobFor})
	return err
}
