package drainer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/infra/drainer"
	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Each prop that sets a DRAINER_* variable must accept the range the
// function accepts, and say so in the same words; otherwise the construct
// deploys a value the function refuses at init (every drain then waits for
// the heartbeat timeout), or refuses one the function would take.
func TestThePropsRangesAreTheFunctions(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Ranges"), nil)
	cluster := awsecs.Cluster_FromClusterArn(stack, jsii.String("Cluster"), clusterARN(stack, "c"))
	group := awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName(stack, jsii.String("A"), jsii.String("asg-a"))
	dur := func(d time.Duration) awscdk.Duration {
		return awscdk.Duration_Millis(jsii.Number(float64(d.Milliseconds())))
	}
	props := map[string]struct {
		v   contract.DurationVar
		set func(*drainer.Props, awscdk.Duration)
	}{
		"PollInterval":      {contract.PollInterval, func(p *drainer.Props, d awscdk.Duration) { p.PollInterval = d }},
		"MaxDrain":          {contract.MaxDrain, func(p *drainer.Props, d awscdk.Duration) { p.MaxDrain = d }},
		"StopGrace":         {contract.StopGrace, func(p *drainer.Props, d awscdk.Duration) { p.StopGrace = d }},
		"StaleAfter":        {contract.StaleAfter, func(p *drainer.Props, d awscdk.Duration) { p.StaleAfter = d }},
		"DisconnectedAfter": {contract.DisconnectedAfter, func(p *drainer.Props, d awscdk.Duration) { p.DisconnectedAfter = d }},
		"MaxLaunch":         {contract.MaxLaunch, func(p *drainer.Props, d awscdk.Duration) { p.MaxLaunch = d }},
		"StuckAfter":        {contract.StuckAfter, func(p *drainer.Props, d awscdk.Duration) { p.StuckAfter = d }},
	}
	if len(props) != len(contract.DurationVars()) {
		t.Fatalf("the test covers %d props, the contract has %d duration variables: add the new one's prop", len(props), len(contract.DurationVars()))
	}
	for name, prop := range props {
		t.Run(name, func(t *testing.T) {
			over := prop.v.Max + time.Second
			p := &drainer.Props{Targets: []drainer.Target{{Cluster: cluster, AutoScalingGroup: group}}}
			prop.set(p, dur(over))
			got := panicOf(func() { drainer.New(stack, jsii.String("D"+name), p) })
			if want := prop.v.Check(name, over).Error(); !strings.HasSuffix(got, want) {
				t.Fatalf("New with %s %s panicked %q, want it to end with %q", name, over, got, want)
			}
		})
	}
}

// The function reads its configuration by the contract's names, and assumes
// the contract's defaults for what is unset. A drainer with no props must
// set every one of those variables, to those defaults, and nothing else;
// otherwise the function runs on a value no prop chose, or a name it never
// reads.
func TestTheDefaultEnvironmentIsTheContracts(t *testing.T) {
	s := synth(t)
	_, fn := only(t, s.defaultsJS, "AWS::Lambda::Function", nil)
	got := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	want := map[string]any{
		contract.EnvOnTimeout:     contract.DefaultOnTimeout,
		contract.EnvHooks:         contract.HookName + "," + contract.LaunchHookName,
		contract.EnvLaunchDaemons: "false", // the function's default too: unset is "false"
	}
	for _, v := range contract.DurationVars() {
		want[v.Env] = v.Default.String()
	}
	for _, name := range []string{contract.EnvQueueURL, contract.EnvCluster, contract.EnvASGs} {
		want[name] = got[name] // references to the stack's resources, checked in TestTheFunction
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the default drainer's environment (-contract +template):\n%s", diff)
	}
	if got := fn["Architectures"]; !cmp.Equal(got, []any{contract.GOARCH}) {
		t.Errorf("the function's architectures are %v, want [%s], what the bootstrap is built for", got, contract.GOARCH)
	}
}
