package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/emf"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/faults"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/lambda"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// metricLog reads every line the function writes as CloudWatch Logs would
// extract its Embedded Metric Format metrics: it keeps the lines the
// specification refuses, and sums the drains started and ended, and the
// launches ended, per instance (the lines name it; the metrics do not).
type metricLog struct {
	mu                       sync.Mutex
	lines, metricLines, data int
	invalid                  []string
	started, ended, launches map[string]int
}

func newMetricLog() *metricLog {
	return &metricLog{started: map[string]int{}, ended: map[string]int{}, launches: map[string]int{}}
}

// write reads the lines of p.
func (m *metricLog) write(p []byte) {
	for line := range bytes.Lines(p) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || lambda.PlatformLine(line) {
			continue
		}
		data, err := emf.Parse(line)
		var who struct {
			InstanceID string `json:"instance_id"`
		}
		_ = json.Unmarshal(line, &who)
		m.mu.Lock()
		m.lines++
		if err != nil {
			m.invalid = append(m.invalid, fmt.Sprintf("%v: %s", err, line))
		}
		if len(data) > 0 {
			m.metricLines++
			m.data += len(data)
		}
		for _, d := range data {
			n := int(d.Values[0])
			switch d.Name {
			case contract.MetricDrainsStarted:
				m.started[who.InstanceID] += n
			case contract.MetricDrainsEnded:
				m.ended[who.InstanceID] += n
			case contract.MetricLaunchesEnded:
				m.launches[who.InstanceID] += n
			}
		}
		m.mu.Unlock()
	}
}

// metricCounts is what the soak reports of the metrics.
type metricCounts struct {
	Lines, MetricLines, Data int
	// Started and Ended are the sums of DrainsStarted and DrainsEnded, the
	// soak's own counts beside them: the drains (terminate actions of the
	// drainer's hook) and the completions of the drainer's that its
	// invocation lived to log.
	Started, Drains        int
	Ended, DrainsCompleted int
	Launches, LaunchesDone int
	// Unlogged are the completions not counted, each explained by a hop
	// that never heard it succeeded (its invocation killed during or
	// after the call, or its answer lost and the SDK's retry told the
	// action was gone); Missing the drains no line counted started (a
	// kill cut their first hop short after its mark); Excess the starts
	// counted twice (two deliveries of one event at once, which no mark
	// can tell apart).
	Unlogged, Missing, Excess int
}

func (c metricCounts) String() string {
	return fmt.Sprintf("lines=%d emf_lines=%d data=%d started=%d/%d ended=%d/%d launches_ended=%d/%d unlogged=%d missing_starts=%d excess_starts=%d",
		c.Lines, c.MetricLines, c.Data, c.Started, c.Drains, c.Ended, c.DrainsCompleted, c.Launches, c.LaunchesDone, c.Unlogged, c.Missing, c.Excess)
}

// metricRecords are what checkMetrics compares.
type metricRecords struct {
	log     *metricLog
	actions []autoscaling.ActionView
	calls   []localdeploy.LifecycleCall
	faults  map[string]int
	// kills are the invocations the faults killed, and timeout the
	// function's, which bounds how long after a call its invocation runs.
	kills   []lambda.Kill
	timeout time.Duration
}

// killed reports whether the invocation that made call was killed during
// it or afterwards, before it could log (within the function's timeout of
// the answer; a kill after the call precedes its answer by a moment).
func killedAround(kills []lambda.Kill, call localdeploy.LifecycleCall, timeout time.Duration) bool {
	return slices.ContainsFunc(kills, func(k lambda.Kill) bool {
		return k.Root == call.Trace && call.Trace != "" && k.At.After(call.At.Add(-time.Second)) && k.At.Before(call.At.Add(timeout))
	})
}

// checkMetrics holds the metrics to the soak's own records. Every line is
// valid EMF. Every completion the drainer made, as the recorder in front of
// the local AWS saw it answered, is counted once in DrainsEnded or
// LaunchesEnded, instance by instance, but for those whose hop never heard
// it succeeded (a kill, a lost answer). Every drain of the drainer's hook is counted started; one short of
// that only where a kill cut the first hop short, and more only by the
// duplicate deliveries the faults made.
func checkMetrics(r metricRecords) (metricCounts, []string) {
	m := r.log
	m.mu.Lock()
	defer m.mu.Unlock()
	c := metricCounts{Lines: m.lines, MetricLines: m.metricLines, Data: m.data}
	var violations []string
	violate := func(format string, args ...any) { violations = append(violations, fmt.Sprintf(format, args...)) }
	for i, l := range m.invalid {
		if i == 3 {
			violate("%d more lines are not valid EMF", len(m.invalid)-3)
			break
		}
		violate("a line is not valid EMF: %s", l)
	}
	drains := map[string]int{} // instance -> its drains
	for _, a := range r.actions {
		if a.Hook == localdeploy.HookName && a.Transition != autoscaling.TransitionLaunching {
			drains[a.InstanceID]++
			c.Drains++
		}
	}
	for id, n := range drains {
		started := m.started[id]
		c.Started += started
		c.Missing += max(0, n-started)
		c.Excess += max(0, started-n)
	}
	for _, n := range m.ended {
		c.Ended += n
	}
	for _, n := range m.launches {
		c.Launches += n
	}
	// The calls of an SDK invocation in the order the recorder saw them:
	// a completion answered 200 and then attempted again is one whose hop
	// never received the answer, which its retry heard was gone.
	retried := map[int]bool{}
	last := map[string]int{} // invocation id -> its last completion attempt
	for i, call := range r.calls {
		if call.Operation == "CompleteLifecycleAction" && call.Invocation != "" {
			if j, ok := last[call.Invocation]; ok {
				retried[j] = true
			}
			last[call.Invocation] = i
		}
	}
	// Per instance, the completions the drainer made, and those of them
	// whose hop may never have logged: its answer lost, or its invocation
	// killed during or after the call, before it could.
	completed, unheard := map[string]int{}, map[string]int{}
	instanceOf := map[string]string{} // token -> instance: a completion names one or the other
	for _, a := range r.actions {
		instanceOf[a.Token] = a.InstanceID
	}
	for i, call := range r.calls {
		if call.Operation != "CompleteLifecycleAction" || call.Status != 200 || !ownHook(call.Hook) {
			continue
		}
		if call.InstanceID == "" {
			call.InstanceID = instanceOf[call.Token]
		}
		if call.Hook == contract.LaunchHookName {
			c.LaunchesDone++
		} else {
			c.DrainsCompleted++
		}
		completed[call.InstanceID]++
		if retried[i] || killedAround(r.kills, call, r.timeout) {
			unheard[call.InstanceID]++
		}
	}
	var short, over []string
	for id, n := range completed {
		counted := m.ended[id] + m.launches[id]
		switch {
		case counted > n:
			over = append(over, id)
		case counted < n-unheard[id]:
			short = append(short, id)
		}
		c.Unlogged += max(0, n-counted)
	}
	for id := range m.ended {
		if completed[id] == 0 {
			over = append(over, id)
		}
	}
	slices.Sort(short)
	slices.Sort(over)
	if len(short) > 0 {
		violate("%d instances completed by the drainer and not counted ended, with no lost answer or kill to explain it: %v", len(short), short[:min(len(short), 5)])
	}
	if len(over) > 0 {
		violate("%d instances counted ended more often than the drainer completed them: %v", len(over), over[:min(len(over), 5)])
	}
	kills := r.faults[faults.KindKillAfter] + r.faults[faults.KindKillBefore]
	duplicates := r.faults[faults.KindDuplicateEvent] + r.faults[faults.KindDuplicateSQS]
	if c.Missing > kills {
		violate("%d drains never counted started, more than the %d killed invocations explain", c.Missing, kills)
	}
	if c.Excess > duplicates {
		violate("%d starts counted twice, more than the %d duplicate deliveries explain", c.Excess, duplicates)
	}
	return c, violations
}
