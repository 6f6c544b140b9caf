package handler

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/diagnose"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/emf"
)

// What operators see of the drains besides the log: metrics in the
// Embedded Metric Format on the decision lines (the line that says how a
// hop ended carries its metrics), and drain state change events on the
// default bus, put once per invocation.

// Announcer puts drain state change events (see package announce).
type Announcer interface {
	Announce(ctx context.Context, details []contract.DrainStateDetail) (failed int, err error)
}

// groupDims are the dimensions of a drain's metrics.
func groupDims(cluster, group string) []emf.Dim {
	return []emf.Dim{{Name: contract.DimCluster, Value: cluster}, {Name: contract.DimGroup, Value: group}}
}

func withDim(dims []emf.Dim, name, value string) []emf.Dim {
	return append(slices.Clone(dims), emf.Dim{Name: name, Value: value})
}

// timedOut reports whether a drain's outcome is one where the timeout policy
// applied with tasks left.
func timedOut(o drain.Outcome) bool {
	return slices.Contains(contract.DeadlineOutcomes(), string(o))
}

// tasksLeft counts the tasks a hop left on the instance: those it listed,
// or ECS's counts when it did not list them.
func tasksLeft(res drain.Result) int {
	if in := res.Instance; len(res.Tasks) == 0 && in != nil && in.Busy {
		return in.Running + in.Pending
	}
	return len(res.Tasks)
}

// drainMetrics are the metrics of a drain's hop: started, a heartbeat, and
// at its completion by the drainer its outcome, duration, the lag after
// its last task stopped (unless noLag: an ECS event told when) and, when the
// timeout policy applied, the tasks left.
func (h *Handler) drainMetrics(s drain.State, res drain.Result, lag time.Duration) []slog.Attr {
	dims := groupDims(s.Cluster, s.GroupName)
	var group []emf.Metric
	var sets []emf.Set
	if res.Began {
		group = append(group, emf.Metric{Name: contract.MetricDrainsStarted, Value: 1})
	}
	if res.Heartbeat {
		group = append(group, emf.Metric{Name: contract.MetricHeartbeats, Value: 1})
	}
	if res.ActionResult != "" {
		byOutcome := withDim(dims, contract.DimOutcome, string(res.Outcome))
		sets = append(sets, emf.Set{Dims: byOutcome, Metrics: []emf.Metric{{Name: contract.MetricDrainsEnded, Value: 1}}})
		if !s.Start.IsZero() {
			group = append(group, emf.Metric{Name: contract.MetricDrainDuration, Value: h.now().Sub(s.Start).Seconds()})
		}
		if lag != noLag {
			group = append(group, emf.Metric{Name: contract.MetricCompletionLag, Value: lag.Seconds()})
		}
		if timedOut(res.Outcome) {
			sets = append(sets, emf.Set{Dims: byOutcome, Metrics: []emf.Metric{{Name: contract.MetricTasksLeftAtDeadline, Value: float64(tasksLeft(res))}}})
		}
	}
	return emf.Attrs(h.now(), append(sets, emf.Set{Dims: dims, Metrics: group})...)
}

// launchMetrics are the metrics of a launch gate's hop: a heartbeat, and at
// its completion its outcome and how long the launch waited.
func (h *Handler) launchMetrics(s drain.State, res drain.Result) []slog.Attr {
	dims := groupDims(s.Cluster, s.GroupName)
	var group []emf.Metric
	var sets []emf.Set
	if res.Heartbeat {
		group = append(group, emf.Metric{Name: contract.MetricHeartbeats, Value: 1})
	}
	if res.ActionResult != "" {
		sets = append(sets, emf.Set{Dims: withDim(dims, contract.DimOutcome, string(res.Outcome)), Metrics: []emf.Metric{{Name: contract.MetricLaunchesEnded, Value: 1}}})
		if !s.Start.IsZero() {
			group = append(group, emf.Metric{Name: contract.MetricLaunchGateWait, Value: h.now().Sub(s.Start).Seconds()})
		}
	}
	return emf.Attrs(h.now(), append(sets, emf.Set{Dims: dims, Metrics: group})...)
}

// gauges logs the sweep's gauges of each group with drains in flight: one
// line for the drains in flight and the oldest's age, and one per blocking
// reason with the drains stuck on it (zero included, so a graph or alarm
// sees the stuck drains go).
func (h *Handler) gauges(ctx context.Context, gs []drain.Gauge, attrs []slog.Attr) {
	for _, g := range gs {
		where := drainAttrs(g.Cluster, g.Group, "", "")
		dims := groupDims(g.Cluster, g.Group)
		h.logLine(ctx, slog.LevelInfo, "drains in flight", where, append(slices.Clone(attrs), emf.Attrs(h.now(), emf.Set{Dims: dims, Metrics: []emf.Metric{
			{Name: contract.MetricDrainsInFlight, Value: float64(g.InFlight)}, {Name: contract.MetricOldestDrain, Value: g.Oldest.Seconds()},
		}})...)...)
		for _, r := range contract.Reasons() {
			if !contract.Blocking(r) {
				continue
			}
			h.logLine(ctx, slog.LevelInfo, "stuck drains", where, append(slices.Clone(attrs), emf.Attrs(h.now(), emf.Set{
				Dims: withDim(dims, contract.DimReason, r), Metrics: []emf.Metric{{Name: contract.MetricStuckDrains, Value: float64(g.Stuck[r])}},
			})...)...)
		}
	}
}

// drainEvents are the state changes a drain's hop announces: STARTED by the
// hop that began it, DIAGNOSED when its diagnosis changed to one where
// every task left is blocked (someone must act), COMPLETED or TIMED_OUT by
// the hop that completed it.
func (h *Handler) drainEvents(s drain.State, res drain.Result) []contract.DrainStateDetail {
	base := contract.DrainStateDetail{
		InstanceID: s.InstanceID, ContainerInstanceARN: res.State.ContainerInstanceARN, AutoScalingGroupName: s.GroupName,
		Cluster: s.Cluster, LifecycleHookName: s.HookName, TasksLeft: tasksLeft(res),
	}
	if !s.Start.IsZero() {
		base.DurationSeconds = h.now().Sub(s.Start).Seconds()
	}
	var out []contract.DrainStateDetail
	if res.Began {
		e := base
		e.State = contract.DrainStarted
		out = append(out, e)
	}
	if res.DiagnosisChanged && diagnose.Blocked(res.Findings) {
		e := base
		e.State, e.Reason, e.Reasons = contract.DrainDiagnosed, diagnose.BlockedReason(res.Findings), reasonCounts(res.Findings)
		e.Unblock = diagnose.Explain(res.Findings, res.State.Launching)
		out = append(out, e)
	}
	if res.ActionResult != "" {
		e := base
		e.State, e.Outcome, e.Result = contract.DrainCompleted, string(res.Outcome), res.ActionResult
		if timedOut(res.Outcome) {
			e.State, e.Reason = contract.DrainTimedOut, res.State.BlockedReason
		}
		out = append(out, e)
	}
	return out
}

func reasonCounts(fs []diagnose.Finding) map[string]int {
	counts := map[string]int{}
	for _, f := range fs {
		counts[f.Reason]++
	}
	return counts
}

// announcements collects an invocation's drain events, from the hops its
// records run at once, to put them in as few calls as possible at its end.
type announcements struct {
	mu      sync.Mutex
	details []contract.DrainStateDetail
}

type announcementsKey struct{}

func withAnnouncements(ctx context.Context) (context.Context, *announcements) {
	a := &announcements{}
	return context.WithValue(ctx, announcementsKey{}, a), a
}

// announce keeps ds for the end of the invocation of ctx.
func announce(ctx context.Context, ds []contract.DrainStateDetail) {
	a, ok := ctx.Value(announcementsKey{}).(*announcements)
	if !ok || len(ds) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.details = append(a.details, ds...)
}

// flush puts the invocation's drain events. An event that cannot be put is
// logged and dropped: the drains it describes went on regardless.
func (h *Handler) flush(ctx context.Context, a *announcements) {
	if h.obs.Announcer == nil || len(a.details) == 0 {
		return
	}
	failed, err := h.obs.Announcer.Announce(ctx, a.details)
	if err != nil {
		h.logLine(ctx, slog.LevelWarn, "drain events could not all be put on the default event bus", drainAttrs("", "", "", ""),
			slog.String(keyRequestID, requestID(ctx)), slog.Int(keyFailed, failed), slog.Int(keyEvents, len(a.details)), slog.String(keyError, err.Error()))
	}
}

// throttled logs, with its metric, how many answers AWS throttled during
// the invocation, per service; nothing when none was.
func (h *Handler) throttled(ctx context.Context) {
	if h.obs.Throttles == nil {
		return
	}
	counts := h.obs.Throttles.Take()
	for _, service := range slices.Sorted(maps.Keys(counts)) {
		if counts[service] == 0 {
			continue
		}
		h.logLine(ctx, slog.LevelInfo, "AWS throttled calls: the SDK retried them", drainAttrs("", "", "", ""),
			append([]slog.Attr{slog.String(keyRequestID, requestID(ctx)), slog.Int(keyThrottled, counts[service])},
				emf.Attrs(h.now(), emf.Set{Dims: []emf.Dim{{Name: contract.DimService, Value: service}},
					Metrics: []emf.Metric{{Name: contract.MetricThrottles, Value: float64(counts[service])}}})...)...)
	}
}
