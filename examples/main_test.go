package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-drainer/ecs-drainer/infra/drainer"
)

func TestThePlatformStackSynthesizesWithTheDrainer(t *testing.T) {
	// The example must synthesize offline against this repository's
	// construct, otherwise a team copying it starts from a broken app.
	if testing.Short() {
		t.Skip("synthesizes the CDK app; skipped with -short")
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := NewPlatformStack(app, "Platform", &PlatformStackProps{ClusterName: "prod", WebGroup: "prod-web", BatchGroup: "prod-batch"})
	tpl := assertions.Template_FromStack(stack, nil)

	t.Run("each group gets the drainer's terminate and launch hooks, the batch group with its own policy", func(t *testing.T) {
		count(t, tpl, "AWS::AutoScaling::LifecycleHook", 4)
		for group, metadata := range map[string]string{
			"prod-web":   `{"cluster":"prod"}`,
			"prod-batch": `{"cluster":"prod","on_timeout":"stop-tasks"}`,
		} {
			for hook, transition := range map[string]string{
				drainer.HookName:       "autoscaling:EC2_INSTANCE_TERMINATING",
				drainer.LaunchHookName: "autoscaling:EC2_INSTANCE_LAUNCHING",
			} {
				has(t, tpl, "AWS::AutoScaling::LifecycleHook", map[string]any{
					"AutoScalingGroupName": group,
					"LifecycleHookName":    hook,
					"LifecycleTransition":  transition,
					"NotificationMetadata": metadata,
				})
			}
		}
	})
	t.Run("the function runs with the props set", func(t *testing.T) {
		has(t, tpl, "AWS::Lambda::Function", map[string]any{
			"Runtime":       "provided.al2023",
			"Architectures": []any{"arm64"},
			"Environment": map[string]any{"Variables": map[string]any{
				"DRAINER_ASGS":          "prod-web,prod-batch",
				"DRAINER_POLL_INTERVAL": "15s",
				"DRAINER_MAX_DRAIN":     "30m0s",
				"DRAINER_STUCK_AFTER":   "10m0s",
			}},
		})
	})
	t.Run("the poll, event and dead-letter queues", func(t *testing.T) {
		count(t, tpl, "AWS::SQS::Queue", 3)
	})
	t.Run("the alarms notify the team's topic", func(t *testing.T) {
		has(t, tpl, "AWS::CloudWatch::Alarm", map[string]any{
			"AlarmActions": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^DrainerAlarms"))}},
		})
	})
	t.Run("the app writes the stack's template and the function's asset", func(t *testing.T) {
		dir := *app.Synth(nil).Directory()
		if _, err := os.Stat(filepath.Join(dir, "Platform.template.json")); err != nil {
			t.Errorf("cloud assembly in %s: %v", dir, err)
		}
		if boot, _ := filepath.Glob(filepath.Join(dir, "asset.*", "bootstrap")); len(boot) != 1 {
			t.Errorf("function assets in %s: got %v, want one bootstrap", dir, boot)
		}
	})
}

func has(t *testing.T, tpl assertions.Template, typ string, props map[string]any) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("no %s with %v:\n%v", typ, props, r)
		}
	}()
	tpl.HasResourceProperties(jsii.String(typ), props)
}

func count(t *testing.T, tpl assertions.Template, typ string, n int) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s count: %v", typ, r)
		}
	}()
	tpl.ResourceCountIs(jsii.String(typ), jsii.Number(n))
}
