package operator

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// writeTable prints the drains, one a line.
func writeTable(out io.Writer, now time.Time, drains []Drain) {
	if len(drains) == 0 {
		fmt.Fprintf(out, "no instance waits on the drainer's hooks (%s)\n", now.UTC().Format(time.RFC3339))
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tCLUSTER\tINSTANCE\tCONTAINER\tHOOK\tSTATE\tWAITED\tTASKS LEFT\tNEXT POLL\tDEADLINE\tON TIMEOUT\tOTHER HOOKS")
	for _, d := range drains {
		state := d.State
		if state == StateLost {
			state = "LOST"
		}
		if d.Blocked != "" && d.State == StateDraining {
			state = "blocked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Group, d.Cluster, d.InstanceID, dash(shortID(d.ContainerInstanceARN)),
			d.Hook, state, waited(d), tasksLeft(d), rel(now, d.NextPoll), rel(now, d.Deadline), d.OnTimeout, dash(strings.Join(d.OtherHooks, ",")))
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortID is an ARN's last segment: a container instance's id.
func shortID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func waited(d Drain) string {
	if d.WaitedSeconds == nil {
		return "-"
	}
	return (time.Duration(*d.WaitedSeconds) * time.Second).String()
}

// tasksLeft is the count with its reasons, in the contract's order:
// "3 (2 no_capacity, 1 stopping)".
func tasksLeft(d Drain) string {
	if d.Transition != "" && d.State == StateLaunching {
		return "-"
	}
	s := fmt.Sprint(d.TasksLeft)
	var parts []string
	for _, r := range contract.Reasons() {
		if n := d.Reasons[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// rel says when t is from now: "in 25s", "3m0s ago", "-" when unknown.
func rel(now time.Time, t *time.Time) string {
	if t == nil {
		return "-"
	}
	d := t.Sub(now).Round(time.Second)
	if d < 0 {
		return (-d).String() + " ago"
	}
	return "in " + d.String()
}

// writeTasks lists the tasks left on the drain's instance, with each one's
// reason.
func writeTasks(out io.Writer, d Drain) {
	if d.TasksLeft == 0 {
		fmt.Fprintf(out, "no task is left on %s\n", d.InstanceID)
		return
	}
	fmt.Fprintf(out, "%s left on %s:\n", tasks(d.TasksLeft), d.InstanceID)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TASK\tSERVICE\tREASON")
	for _, f := range d.Tasks {
		reason := f.Reason
		if f.Resource != "" {
			reason += " (" + f.Resource + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", shortID(f.ARN), dash(f.Service), reason)
	}
	_ = tw.Flush()
}

// writeExplain says, in sentences, what the drain waits for and what would
// unblock it.
func writeExplain(out io.Writer, now time.Time, d Drain) {
	kind := "terminating"
	if d.State == StateLaunching {
		kind = "launching"
	}
	fmt.Fprintf(out, "%s (%s) waits on lifecycle hook %s of group %s, cluster %s.\n", d.InstanceID, kind, d.Hook, d.Group, d.Cluster)
	if d.State == StateLaunching {
		fmt.Fprintln(out, "The launch gate lets it in once ECS can use it (its container instance ACTIVE with its agent connected).")
		return
	}
	switch {
	case d.ContainerInstanceARN == "":
		fmt.Fprintln(out, "The cluster has no container instance for it: the drain completes it at its next look, as there is nothing to drain.")
	default:
		fmt.Fprintf(out, "Its container instance %s is %s.\n", shortID(d.ContainerInstanceARN), dash(d.Status))
	}
	switch d.State {
	case StateDraining:
		fmt.Fprintf(out, "Its drain started %s ago and a live chain carries it: the next poll is due %s.\n", waited(d), rel(now, d.NextPoll))
	case StateLost:
		if d.NextPoll != nil {
			fmt.Fprintf(out, "Its drain looks LOST: its chain's next poll was due %s, so no chain carries it. The reconciler restarts it at its next sweep; 'ecs-drainer drain %s' restarts it now.\n", rel(now, d.NextPoll), d.InstanceID)
		} else {
			fmt.Fprintf(out, "Its drain looks LOST: its container instance carries no chain mark, so no chain carries it. The reconciler restarts it at its next sweep; 'ecs-drainer drain %s' restarts it now.\n", d.InstanceID)
		}
	case StateUnknown:
		fmt.Fprintln(out, "Whether a chain carries its drain is unknown: the cluster's container instances could not be read.")
	}
	if d.TasksLeft == 0 {
		fmt.Fprintln(out, "No task is left on it: the drain completes the action at its next look.")
	} else {
		fmt.Fprintf(out, "It waits for %s to stop:\n", tasks(d.TasksLeft))
		for _, s := range d.Unblock {
			fmt.Fprintf(out, "  - %s\n", s)
		}
	}
	if d.Blocked != "" {
		fmt.Fprintf(out, "Its last hop found every task blocked (%s).", d.Blocked)
		if d.StuckAfterSeconds > 0 {
			fmt.Fprintf(out, " If they stay blocked for %s, the timeout policy applies early.", time.Duration(d.StuckAfterSeconds)*time.Second)
		}
		fmt.Fprintln(out)
	}
	if d.Deadline != nil {
		fmt.Fprintf(out, "At its deadline, %s (%s), %s.\n", d.Deadline.UTC().Format(time.RFC3339), rel(now, d.Deadline), policySentence(d.OnTimeout))
	} else {
		fmt.Fprintf(out, "Its deadline is unknown (no chain mark tells when it started); at it, %s.\n", policySentence(d.OnTimeout))
	}
	if len(d.OtherHooks) > 0 {
		fmt.Fprintf(out, "Hook %s holds the instance too: after the drainer releases it, it waits for that hook.\n", strings.Join(d.OtherHooks, ", "))
	}
	fmt.Fprintf(out, "To release it now: ecs-drainer release %s (add --abandon to complete with ABANDON).\n", d.InstanceID)
}

func policySentence(onTimeout string) string {
	switch onTimeout {
	case contract.OnTimeoutStopTasks:
		return "the stop-tasks policy stops the tasks left, then completes the action with CONTINUE"
	case contract.OnTimeoutAbandon:
		return "the abandon policy completes the action with ABANDON"
	}
	return "the continue policy completes the action with CONTINUE, whatever is left"
}

func tasks(n int) string {
	if n == 1 {
		return "1 task"
	}
	return fmt.Sprintf("%d tasks", n)
}
