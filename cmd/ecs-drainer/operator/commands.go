package operator

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ecs-drainer/ecs-drainer/internal/drain"
)

func (a *app) statusCmd() *cobra.Command {
	var output string
	var watch bool
	var interval time.Duration
	c := &cobra.Command{
		Use:   "status",
		Short: "Every instance waiting on the drainer's hooks: waited, tasks left and why, next poll, deadline",
		Long: `status lists every instance waiting on the drainer's hooks (terminate, and the launch
gate's): its group, cluster, EC2 and container instance, how long its drain has
waited, the tasks left by reason (the drain's own diagnosis), the next poll (its
chain mark's due time), the deadline and the timeout policy that applies then,
and the group's other terminate hooks, which hold the instance too.

A drain marked LOST has no live chain mark: no chain carries it, and the
reconciler restarts it at its next sweep (or run 'ecs-drainer drain INSTANCE').`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if output != "table" && output != "json" {
				return usagef("-o %q: want table or json", output)
			}
			if interval <= 0 {
				return usagef("--interval %s: want more than 0", interval)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !watch {
				return a.status(ctx, a.io.Out, output)
			}
			return a.watch(ctx, output, interval)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	c.Flags().BoolVarP(&watch, "watch", "w", false, "redraw every --interval until interrupted")
	c.Flags().DurationVar(&interval, "interval", 5*time.Second, "how often --watch redraws")
	return c
}

// status prints the drains once.
func (a *app) status(ctx context.Context, out io.Writer, output string) error {
	drains, err := a.read(ctx, a.groups, "")
	if output == "json" {
		if jerr := writeJSON(out, a.opts.Now(), drains); jerr != nil {
			return jerr
		}
	} else {
		writeTable(out, a.opts.Now(), drains)
	}
	return err
}

// watch redraws the status on each tick until ctx ends or the ticks stop.
// A read that fails is shown and the watch goes on.
func (a *app) watch(ctx context.Context, output string, every time.Duration) error {
	ticks, stop := a.opts.Ticks(every)
	defer stop()
	for {
		if a.io.Terminal {
			fmt.Fprint(a.io.Out, "\x1b[H\x1b[2J") // home, clear: a redraw, not colour
		}
		if err := a.status(ctx, a.io.Out, output); err != nil {
			fmt.Fprintln(a.io.Err, "ecs-drainer: "+describe(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ticks:
			if !ok {
				return nil
			}
		}
		if !a.io.Terminal && output == "table" {
			fmt.Fprintln(a.io.Out)
		}
	}
}

func (a *app) explainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "explain INSTANCE",
		Short: "One instance's drain in sentences: what it waits for and what would unblock it",
		Args:  exactlyOneInstance,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := a.find(cmd.Context(), args[0])
			if d.InstanceID == "" {
				return err
			}
			writeExplain(a.io.Out, a.opts.Now(), d)
			return err
		},
	}
}

func (a *app) releaseCmd() *cobra.Command {
	var abandon, yes bool
	c := &cobra.Command{
		Use:   "release INSTANCE",
		Short: "Complete the drainer's lifecycle action now (CONTINUE, or ABANDON with --abandon)",
		Long: `release completes the drainer's lifecycle action on the instance now, whatever is
still running on it: CONTINUE (the instance terminates), or ABANDON with --abandon.
It shows the tasks still running and asks first unless --yes. It refuses an
instance that waits only on another hook, and names that hook.`,
		Args: exactlyOneInstance,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.findDrain(ctx, args[0], "release acts on the drainer's terminate hooks")
			if err != nil {
				return err
			}
			result := drain.ResultContinue
			if abandon {
				result = drain.ResultAbandon
			}
			writeTasks(a.io.Out, d)
			if !yes && !confirm(a.io.In, a.io.Out, fmt.Sprintf("Release %s with %s running (%s)? [y/N] ", d.InstanceID, tasks(d.TasksLeft), result)) {
				return fmt.Errorf("%s not released", d.InstanceID)
			}
			if err := a.d.Release(ctx, d.waiting, result); err != nil {
				if drain.Classify(err) == drain.AlreadyDone {
					return fmt.Errorf("the drainer's action on %s is already over (completed or timed out): %w", d.InstanceID, err)
				}
				return err
			}
			fmt.Fprintf(a.io.Out, "released %s: completed hook %s of %s with %s\n", d.InstanceID, d.Hook, d.Group, result)
			if len(d.OtherHooks) > 0 {
				fmt.Fprintf(a.io.Out, "it still waits on %s before it terminates\n", strings.Join(d.OtherHooks, ", "))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&abandon, "abandon", false, "complete with ABANDON instead of CONTINUE")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return c
}

// confirm asks question on out and reads the answer from in: only y or yes
// is a yes; no answer (end of input) is a no.
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprint(out, question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(out)
		return false
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

func (a *app) drainCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "drain INSTANCE",
		Short: "Start a drain of a waiting instance now, through the drainer's queue, as the reconciler does",
		Long: `drain puts a restart of the instance's drain on the drainer's queue, exactly as the
reconciler's sweep restarts a lost drain: the function's first hop runs after 45 s,
takes the drain over if no live chain carries it (else it ends), and keeps the
drain's original start and deadline when the instance still carries its mark.

It needs the queue: --queue-url, the construct's Queue (the function's
DRAINER_QUEUE_URL; the CDK names the queue, so it is not found by name).`,
		Args: exactlyOneInstance,
		PreRunE: func(*cobra.Command, []string) error {
			if a.queueURL == "" {
				return usagef("drain needs --queue-url: the drainer's queue, its function's DRAINER_QUEUE_URL")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.findDrain(ctx, args[0], "drain restarts terminate drains only (the sweep looks at launches itself)")
			if err != nil {
				return err
			}
			if d.State == StateDraining {
				fmt.Fprintf(a.io.Out, "a live chain drains %s (next poll %s): the restart ends at its first hop unless that chain is lost by then\n", d.InstanceID, rel(a.opts.Now(), d.NextPoll))
			}
			now := a.opts.Now()
			eventID := fmt.Sprintf("ecs-drainer-cli-%d-%s", now.Unix(), d.InstanceID)
			if err := a.d.Restart(ctx, d.waiting.Pending, eventID); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "drain of %s queued (event %s): its first hop runs in %s\n", d.InstanceID, eventID, drain.RestartGrace)
			return nil
		},
	}
	c.Flags().StringVar(&a.queueURL, "queue-url", "", "the drainer's queue URL (its function's DRAINER_QUEUE_URL)")
	return c
}

func writeJSON(out io.Writer, now time.Time, drains []Drain) error {
	if drains == nil {
		drains = []Drain{}
	}
	b, err := json.MarshalIndent(struct {
		Time   time.Time `json:"time"`
		Drains []Drain   `json:"drains"`
	}{now.UTC(), drains}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the status: %w", err)
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}
