package localdeploy

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
)

// Drain is what happened to one instance's lifecycle action.
type Drain struct {
	InstanceID   string
	TasksAtStart int
	// Held is how long the action kept the instance in Terminating:Wait.
	Held       time.Duration
	Heartbeats int
	End        autoscaling.End // completed, timed-out, skipped; "" while pending
	Result     string          // CONTINUE or ABANDON
	// TasksAtRelease lists the tasks whose lastStatus was not yet STOPPED
	// when the action ended; empty for a clean drain.
	TasksAtRelease []string
	// Lag is how long after the instance's last task reached STOPPED the
	// action ended (0 when no task stopped before the release).
	Lag time.Duration
	// OtherHooks are the instance's other terminate hooks (other teams'),
	// and HeldAfter how long they held it after the drainer's action ended.
	OtherHooks []string
	HeldAfter  time.Duration
}

// Summary is the outcome of a scenario.
type Summary struct {
	Drains      []Drain
	Wall        time.Duration
	APICalls    map[string]int // by "Service.Operation", the drainer's and the harness's own
	Invocations int
	ColdStarts  int
	Errors      int
	DLQ         int // messages in the dead-letter queue at the end
}

// Violations lists what broke the drainer's promises: every action
// completed by the drainer with CONTINUE, none released with a task still
// running unless its deadline is expected, nothing in the DLQ.
func (s Summary) Violations(deadlineExpected bool) []string {
	var v []string
	for _, d := range s.Drains {
		switch {
		case d.End != autoscaling.EndCompleted:
			v = append(v, fmt.Sprintf("%s: action ended %q, want completed by the drainer", d.InstanceID, d.End))
		case d.Result != autoscaling.ResultContinue:
			v = append(v, fmt.Sprintf("%s: result %s, want CONTINUE", d.InstanceID, d.Result))
		case len(d.TasksAtRelease) > 0 && !deadlineExpected:
			v = append(v, fmt.Sprintf("%s: released with %d tasks not yet STOPPED: %s", d.InstanceID, len(d.TasksAtRelease), strings.Join(d.TasksAtRelease, ", ")))
		}
	}
	if s.DLQ > 0 {
		v = append(v, fmt.Sprintf("%d messages in the dead-letter queue", s.DLQ))
	}
	return v
}

// Print writes the summary a person reads at the end of the demo.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\nSummary: %d instances drained in %s\n", len(s.Drains), s.Wall.Round(100*time.Millisecond))
	others := slices.ContainsFunc(s.Drains, func(d Drain) bool { return len(d.OtherHooks) > 0 })
	header := fmt.Sprintf("  %-21s %6s %8s %10s %-10s %-15s", "instance", "tasks", "held", "heartbeats", "end", "left at release")
	if others {
		header += " then held by other hooks"
	}
	fmt.Fprintln(w, strings.TrimRight(header, " "))
	for _, d := range s.Drains {
		line := fmt.Sprintf("  %-21s %6d %8s %10d %-10s %-15d", d.InstanceID, d.TasksAtStart, d.Held.Round(100*time.Millisecond), d.Heartbeats, d.End, len(d.TasksAtRelease))
		if len(d.OtherHooks) > 0 {
			line += fmt.Sprintf(" %s %s", d.HeldAfter.Round(100*time.Millisecond), strings.Join(d.OtherHooks, ","))
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(w, "  Lambda: %d invocations, %d cold starts, %d errors; DLQ: %d messages\n", s.Invocations, s.ColdStarts, s.Errors, s.DLQ)
	ops := make([]string, 0, len(s.APICalls))
	total := 0
	for op, n := range s.APICalls {
		ops = append(ops, fmt.Sprintf("%s %d", op, n))
		total += n
	}
	slices.Sort(ops)
	fmt.Fprintf(w, "  AWS API calls: %d (%s)\n", total, strings.Join(ops, ", "))
}

// PrintLaunches writes, for each launch, when EC2 launched the instance,
// when ECS could first use it and how its launch action ended, each timed
// from since.
func PrintLaunches(w io.Writer, launches []Launch, since time.Time) {
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%+.1fs", t.Sub(since).Seconds())
	}
	fmt.Fprintf(w, "  %-21s %12s %12s  %s\n", "instance", "EC2 launched", "ECS usable", "launch action")
	for _, l := range launches {
		action := "none: no launch hook, in service once booted"
		switch {
		case l.Gated && l.End == "":
			action = "pending"
		case l.Gated:
			action = fmt.Sprintf("%s %s %s", at(l.Ended), l.End, l.Result)
		}
		fmt.Fprintf(w, "  %-21s %12s %12s  %s\n", l.InstanceID, at(l.Launched), at(l.Usable), action)
	}
}
