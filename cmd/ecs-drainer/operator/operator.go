// Package operator is the ecs-drainer command: its subcommands (status,
// explain, release, drain, version), their flags and exit codes, and how
// they print. It reads and acts through internal/drain, the code the
// function runs: Inspect and Waiting.Live (the reconciler's sweep), Look
// (a hop's diagnosis), Release (a drain's completion) and Restart (the
// sweep's restart).
//
// Exit codes: 0 ok, 1 an error (AWS refused or failed, an instance not
// found, a release declined), 2 a usage error (a flag, an argument).
package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// IO is where a run reads answers and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// Terminal: Out is a terminal, so --watch clears the screen between
	// frames. Nothing is ever coloured.
	Terminal bool
}

// Stdio is the process's standard streams.
func Stdio() IO {
	fi, err := os.Stdout.Stat()
	return IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Terminal: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

// Options are what tests and the demo inject; the zero value is the real
// thing.
type Options struct {
	// Config loads the AWS configuration; nil: config.LoadDefaultConfig
	// with --profile and --region.
	Config func(ctx context.Context, profile, region string) (aws.Config, error)
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Ticks returns the ticks --watch redraws on, and a stop; nil: a
	// time.Ticker. --watch ends when ctx ends or the channel closes.
	Ticks func(every time.Duration) (<-chan time.Time, func())
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Run runs the command line args and returns its exit code.
func Run(ctx context.Context, args []string, io IO, o Options) int {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Config == nil {
		o.Config = loadConfig
	}
	if o.Ticks == nil {
		o.Ticks = func(every time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(every)
			return t.C, t.Stop
		}
	}
	root := newRoot(&app{io: io, opts: o})
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(io.Err, "ecs-drainer: "+describe(err))
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintln(io.Err, "Run 'ecs-drainer --help' for usage.")
		return ExitUsage
	}
	return ExitError
}

func loadConfig(ctx context.Context, profile, region string) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	return awsconfig.LoadDefaultConfig(ctx, opts...)
}

// onResource reads the resource IAM names in a refusal ("... is not
// authorized to perform: ecs:ListTasks on resource: arn:...").
var onResource = regexp.MustCompile(`on resource: ?(\S+)`)

// describe says what went wrong, naming the permission a refused call
// needed, or what AWS did not find.
func describe(err error) string {
	action, denied := drain.Denied(err)
	if !denied {
		return err.Error()
	}
	var apiErr smithy.APIError
	msg := "missing permission " + action
	if errors.As(err, &apiErr) {
		if m := onResource.FindStringSubmatch(apiErr.ErrorMessage()); m != nil {
			msg += " on " + m[1]
		}
	}
	if action == "" {
		msg = "missing permission"
	}
	return msg + " (" + err.Error() + ")"
}

// app is one run's state: its flags and clients.
type app struct {
	io   IO
	opts Options

	profile, region, cluster, queueURL string
	groups, hooks                      []string
	policy                             drain.Policy
	stuckAfter                         time.Duration

	cfg aws.Config
	asg *autoscaling.Client
	d   *drain.Drainer
}

func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "ecs-drainer",
		Short: "What the ECS drainer is draining, why, and the hand-brake",
		Long: `ecs-drainer shows the instances waiting on the drainer's lifecycle hooks, why each drain
is not done, and lets an operator release or restart one. It reads the AWS state the
function reads (Auto Scaling, ECS, and SQS for drain), with the standard AWS
configuration: --profile or AWS_PROFILE, --region or AWS_REGION, AWS_ENDPOINT_URL*.

The function's settings are not read from it: the flags below default to the
function's defaults (DRAINER_*), and a hook's metadata (on_timeout, stuck_after)
overrides them per group, as in the function.

Exit codes: 0 ok, 1 error, 2 usage.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkPolicy(); err != nil {
				return err
			}
			if !needsAWS(cmd) {
				return nil
			}
			return a.connect(cmd.Context())
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	f := root.PersistentFlags()
	f.StringVar(&a.profile, "profile", "", "the AWS profile (default: AWS_PROFILE, or the default profile)")
	f.StringVar(&a.region, "region", "", "the AWS region (default: AWS_REGION, or the profile's)")
	f.StringSliceVar(&a.hooks, "hook", []string{contract.HookName, contract.LaunchHookName}, "the drainer's lifecycle hooks (DRAINER_HOOKS)")
	f.StringVar(&a.cluster, "cluster", "", "only drains of this ECS cluster; also the cluster of a hook whose metadata names none (DRAINER_CLUSTER)")
	f.StringSliceVar(&a.groups, "group", nil, "only these Auto Scaling groups (default: every group of the region)")
	p := drain.DefaultPolicy()
	f.DurationVar(&a.policy.MaxDrain, "max-drain", p.MaxDrain, "the function's DRAINER_MAX_DRAIN, for the deadline")
	f.DurationVar(&a.policy.StaleAfter, "stale-after", p.StaleAfter, "the function's DRAINER_STALE_AFTER, which tells a lost drain")
	f.DurationVar(&a.policy.StopGrace, "stop-grace", p.StopGrace, "the function's DRAINER_STOP_GRACE, for the stop-tasks deadline")
	f.StringVar(&a.policy.OnTimeout, "on-timeout", p.OnTimeout, "the function's DRAINER_ON_TIMEOUT, where a hook sets none")
	f.DurationVar(&a.stuckAfter, "stuck-after", p.StuckAfter, "the function's DRAINER_STUCK_AFTER, where a hook sets none (0: off)")
	a.policy.PollInterval, a.policy.DisconnectedAfter, a.policy.MaxLaunch = p.PollInterval, p.DisconnectedAfter, p.MaxLaunch
	root.AddCommand(a.statusCmd(), a.explainCmd(), a.releaseCmd(), a.drainCmd(), a.versionCmd())
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	}
	return root
}

// checkPolicy holds the policy flags to the ranges the function holds its
// environment to.
func (a *app) checkPolicy() error {
	a.policy.StuckAfter = a.stuckAfter
	for _, c := range []struct {
		v    contract.DurationVar
		flag string
		d    time.Duration
	}{{contract.MaxDrain, "--max-drain", a.policy.MaxDrain}, {contract.StaleAfter, "--stale-after", a.policy.StaleAfter},
		{contract.StopGrace, "--stop-grace", a.policy.StopGrace}, {contract.StuckAfter, "--stuck-after", a.policy.StuckAfter}} {
		if err := c.v.Check(c.flag, c.d); err != nil {
			return usageError{err}
		}
	}
	if err := contract.CheckOnTimeout("--on-timeout", a.policy.OnTimeout); err != nil {
		return usageError{err}
	}
	return nil
}

// connect builds the clients.
func (a *app) connect(ctx context.Context) error {
	cfg, err := a.opts.Config(ctx, a.profile, a.region)
	if err != nil {
		return fmt.Errorf("loading the AWS configuration: %w", err)
	}
	a.cfg = drain.BoundCalls(cfg)
	a.asg = autoscaling.NewFromConfig(a.cfg)
	a.d = drain.NewWithClients(ecs.NewFromConfig(a.cfg), a.asg, sqs.NewFromConfig(a.cfg), a.queueURL, a.policy, a.opts.Now)
	return nil
}

// scope is what the drainer drains, as far as the flags say.
func (a *app) scope(groups []string) drain.Scope {
	return drain.Scope{ASGs: groups, Hooks: a.hooks, Cluster: a.cluster}
}

func exactlyOneInstance(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("want one EC2 instance id, got %d arguments", len(args))
	}
	return nil
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the command's version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(a.io.Out, "ecs-drainer "+version())
			return nil
		},
	}
}

// version is the module version go install recorded, with the commit a
// build from a checkout carries.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	if i := slices.IndexFunc(info.Settings, func(s debug.BuildSetting) bool { return s.Key == "vcs.revision" }); i >= 0 {
		v += " " + info.Settings[i].Value
	}
	return v
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("takes no arguments, got %q", args)
	}
	return nil
}

// needsAWS reports whether the command calls AWS: not the root's help,
// version, help or the shell completion scripts.
func needsAWS(cmd *cobra.Command) bool {
	for c := cmd; c.HasParent(); c = c.Parent() {
		switch c.Name() {
		case "version", "help", "completion":
			return false
		}
		if !c.Parent().HasParent() {
			return true
		}
	}
	return false
}
