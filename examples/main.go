// Command examples is a team's own CDK app that adds ecs-drainer to the ECS
// cluster it already runs: the cluster and its Auto Scaling groups are
// imported by name, and the drainer is one construct in the team's stack.
//
//	npx --yes aws-cdk@2.1148.1 synth      # from this directory; no AWS account needed
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-drainer/ecs-drainer/infra/drainer"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	NewPlatformStack(app, "Platform", &PlatformStackProps{
		ClusterName: "prod",
		WebGroup:    "prod-web",
		BatchGroup:  "prod-batch",
	})
	app.Synth(nil)
}

// PlatformStackProps names the team's existing cluster and its groups.
type PlatformStackProps struct {
	awscdk.StackProps
	ClusterName string
	// WebGroup runs services: a drain that times out lets the instance go.
	WebGroup string
	// BatchGroup runs long jobs: a drain that times out stops them.
	BatchGroup string
}

// NewPlatformStack adds the drainer to an existing cluster. The stack is
// environment-agnostic (no Env): the imports are ARNs in the account and
// region of the deploy, so the synth looks nothing up.
func NewPlatformStack(scope constructs.Construct, id string, props *PlatformStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	cluster := awsecs.Cluster_FromClusterArn(stack, jsii.String("Cluster"), stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ecs"),
		Resource:     jsii.String("cluster"),
		ResourceName: jsii.String(props.ClusterName),
	}))
	group := func(name string) awsautoscaling.IAutoScalingGroup {
		return awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName(stack, jsii.String(name), jsii.String(name))
	}
	alarms := awssns.NewTopic(stack, jsii.String("DrainerAlarms"), &awssns.TopicProps{EnforceSSL: jsii.Bool(true)})

	drainer.New(stack, jsii.String("Drainer"), &drainer.Props{
		Targets: []drainer.Target{
			{Cluster: cluster, AutoScalingGroup: group(props.WebGroup)},
			{Cluster: cluster, AutoScalingGroup: group(props.BatchGroup), OnTimeout: drainer.OnTimeoutStopTasks},
		},
		PollInterval: awscdk.Duration_Seconds(jsii.Number(15)),
		MaxDrain:     awscdk.Duration_Minutes(jsii.Number(30)),
		// A drain whose tasks cannot be replaced (no room, no instance
		// launching) for 10 minutes ends then, not at MaxDrain.
		StuckAfter: awscdk.Duration_Minutes(jsii.Number(10)),
		AlarmTopic: alarms,
	})
	return stack
}
