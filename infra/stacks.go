package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-drainer/ecs-drainer/infra/drainer"
)

// DrainerStackProps names an existing cluster and its Auto Scaling groups.
type DrainerStackProps struct {
	awscdk.StackProps
	Cluster string
	ASGs    []string
}

// NewDrainerStack deploys the drainer for an existing cluster. The cluster and
// groups are imported by name into ARNs of the stack's account and region: no
// lookup, so the synth needs no account.
func NewDrainerStack(scope constructs.Construct, id string, props *DrainerStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	cluster := awsecs.Cluster_FromClusterArn(stack, jsii.String("Cluster"), clusterARN(stack, props.Cluster))
	var targets []drainer.Target
	for _, name := range props.ASGs {
		targets = append(targets, drainer.Target{
			Cluster:          cluster,
			AutoScalingGroup: awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName(stack, jsii.String("Asg-"+name), jsii.String(name)),
		})
	}
	d := drainer.New(stack, jsii.String("Drainer"), &drainer.Props{Targets: targets})
	outputLogGroup(stack, d)
	outputAlarmsAndDashboard(stack, d)
	return stack
}

// outputLogGroup outputs the name of the function's log group (generated, so
// that stacks for several clusters can coexist), where each drain logs.
func outputLogGroup(stack awscdk.Stack, d *drainer.Drainer) {
	awscdk.NewCfnOutput(stack, jsii.String("DrainerLogGroup"), &awscdk.CfnOutputProps{
		Description: jsii.String("The drainer function's log group: one JSON line per drain decision"),
		Value:       d.LogGroup.LogGroupName(),
	})
}

// outputAlarmsAndDashboard outputs the names of the groups' stuck-drain
// alarms, comma-separated in the order of the groups, for an instance
// refresh's AlarmSpecification, and the name of the drainer's dashboard.
func outputAlarmsAndDashboard(stack awscdk.Stack, d *drainer.Drainer) {
	var names []*string
	for _, a := range d.StuckAlarms {
		names = append(names, a.AlarmName())
	}
	if len(names) > 0 {
		awscdk.NewCfnOutput(stack, jsii.String("DrainerStuckAlarms"), &awscdk.CfnOutputProps{
			Description: jsii.String("The groups' stuck-drain alarms, for an instance refresh's AlarmSpecification"),
			Value:       awscdk.Fn_Join(jsii.String(","), &names),
		})
	}
	if d.Dashboard != nil {
		awscdk.NewCfnOutput(stack, jsii.String("DrainerDashboard"), &awscdk.CfnOutputProps{
			Description: jsii.String("The drainer's CloudWatch dashboard"),
			Value:       d.Dashboard.DashboardName(),
		})
	}
}

// clusterARN is the ARN of the named cluster in the stack's account and region.
func clusterARN(stack awscdk.Stack, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ecs"),
		Resource:     jsii.String("cluster"),
		ResourceName: jsii.String(name),
	})
}

// ExampleName names the example's cluster and Auto Scaling group. Fixed names
// make the README's commands exact and the synthesized rule's pattern literal
// (the end-to-end tests read it from the template); the example deploys once
// per account and region.
const ExampleName = "ecs-drainer-example"

// ExampleStackProps configures the example stack.
type ExampleStackProps struct {
	awscdk.StackProps
}

// NewExampleStack is a sandbox to try the drainer in: a VPC, an ECS cluster on
// an Auto Scaling group of two Graviton instances behind a capacity provider,
// a sample service of four tasks, and the drainer on the group. Scale the
// group in, or start an instance refresh, and watch the drain in the
// function's logs.
func NewExampleStack(scope constructs.Construct, id string, props *ExampleStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	// The launch template's IMDS hop limit of 1 keeps bridge-mode containers
	// from the instance role; CDK's iptables rules for the same (its
	// default) are deprecated, and this flag turns them off.
	stack.Node().SetContext(jsii.String("@aws-cdk/aws-ecs:disableEcsImdsBlocking"), true)

	// Public subnets only and no NAT gateway, to keep the sandbox cheap; the
	// instances accept no inbound traffic.
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name:       jsii.String("Public"),
			SubnetType: awsec2.SubnetType_PUBLIC,
			CidrMask:   jsii.Number(24),
		}},
	})
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{
		ClusterName:         jsii.String(ExampleName),
		Vpc:                 vpc,
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
	})

	// A launch template (new accounts can no longer create launch
	// configurations) on the ECS-optimized Amazon Linux 2023 AMI for arm64,
	// read from its public SSM parameter at deploy time: no lookup.
	role := awsiam.NewRole(stack, jsii.String("InstanceRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("ec2.amazonaws.com"), nil),
	})
	sg := awsec2.NewSecurityGroup(stack, jsii.String("InstanceSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:         vpc,
		Description: jsii.String("ecs-drainer example instances: no inbound traffic"),
	})
	template := awsec2.NewLaunchTemplate(stack, jsii.String("LaunchTemplate"), &awsec2.LaunchTemplateProps{
		InstanceType:             awsec2.NewInstanceType(jsii.String("t4g.small")),
		MachineImage:             awsecs.EcsOptimizedImage_AmazonLinux2023(awsecs.AmiHardwareType_ARM, nil),
		UserData:                 awsec2.UserData_ForLinux(nil),
		Role:                     role,
		SecurityGroup:            sg,
		AssociatePublicIpAddress: jsii.Bool(true),
		// IMDSv2 with a hop limit of 1: the ECS agent (host network) reaches
		// the instance role, bridge-mode containers do not.
		RequireImdsv2:           jsii.Bool(true),
		HttpPutResponseHopLimit: jsii.Number(1),
		BlockDevices: &[]*awsec2.BlockDevice{{
			DeviceName: jsii.String("/dev/xvda"),
			Volume: awsec2.BlockDeviceVolume_Ebs(jsii.Number(30), &awsec2.EbsDeviceOptions{
				Encrypted:  jsii.Bool(true),
				VolumeType: awsec2.EbsDeviceVolumeType_GP3,
			}),
		}},
	})
	asg := awsautoscaling.NewAutoScalingGroup(stack, jsii.String("Asg"), &awsautoscaling.AutoScalingGroupProps{
		AutoScalingGroupName: jsii.String(ExampleName),
		Vpc:                  vpc,
		VpcSubnets:           &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
		LaunchTemplate:       template,
		MinCapacity:          jsii.Number(2),
		MaxCapacity:          jsii.Number(4),
	})

	// Managed termination protection: ECS scales in only instances without
	// tasks. Managed draining is OFF: ECS's own terminate hook would run in
	// parallel with the drainer's, and the instance would wait for both.
	// The README ("Managed draining or ecs-drainer") says how to choose.
	provider := awsecs.NewAsgCapacityProvider(stack, jsii.String("CapacityProvider"), &awsecs.AsgCapacityProviderProps{
		AutoScalingGroup:                   asg,
		EnableManagedTerminationProtection: jsii.Bool(true),
		EnableManagedDraining:              jsii.Bool(false),
	})
	cluster.AddAsgCapacityProvider(provider, nil)

	task := awsecs.NewEc2TaskDefinition(stack, jsii.String("SampleTask"), nil)
	task.AddContainer(jsii.String("web"), &awsecs.ContainerDefinitionOptions{
		Image:                awsecs.ContainerImage_FromRegistry(jsii.String("public.ecr.aws/nginx/nginx:stable-alpine"), nil),
		MemoryReservationMiB: jsii.Number(64),
		// Bridge networking with a dynamic host port, so several tasks
		// share an instance and the drain has something to move.
		PortMappings: &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(80)}},
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			StreamPrefix: jsii.String("web"),
			LogRetention: awslogs.RetentionDays_ONE_WEEK,
		}),
	})
	awsecs.NewEc2Service(stack, jsii.String("SampleService"), &awsecs.Ec2ServiceProps{
		Cluster:        cluster,
		TaskDefinition: task,
		DesiredCount:   jsii.Number(4),
		// Replacements start before the draining instance's tasks stop.
		MinHealthyPercent: jsii.Number(100),
		MaxHealthyPercent: jsii.Number(200),
		CapacityProviderStrategies: &[]*awsecs.CapacityProviderStrategy{{
			CapacityProvider: provider.CapacityProviderName(),
			Weight:           jsii.Number(1),
		}},
	})

	// The drainer gets the cluster and the group by name, as a team's app
	// would for an existing cluster, so that the hook's metadata, the IAM
	// ARNs and the rule's pattern are literal in the template (the
	// end-to-end tests route events with the synthesized pattern). The
	// dependency creates the drainer after the group and removes it first.
	d := drainer.New(stack, jsii.String("Drainer"), &drainer.Props{
		Targets: []drainer.Target{{
			Cluster:          awsecs.Cluster_FromClusterArn(stack, jsii.String("ClusterByName"), clusterARN(stack, ExampleName)),
			AutoScalingGroup: awsautoscaling.AutoScalingGroup_FromAutoScalingGroupName(stack, jsii.String("AsgByName"), jsii.String(ExampleName)),
		}},
	})
	d.Node().AddDependency(asg, cluster)
	outputLogGroup(stack, d)
	outputAlarmsAndDashboard(stack, d)
	suppressExampleFindings(stack)
	return stack
}

// suppressExampleFindings records why the sandbox departs from cdk-nag's
// AwsSolutions pack where it does.
func suppressExampleFindings(stack awscdk.Stack) {
	suppress := func(path, id, reason string, appliesTo ...string) {
		var to *[]any
		if len(appliesTo) > 0 {
			list := make([]any, len(appliesTo))
			for i, a := range appliesTo {
				list[i] = a
			}
			to = &list
		}
		cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String("/"+*stack.StackName()+path),
			&[]*cdknag.NagPackSuppression{{Id: jsii.String(id), Reason: jsii.String(reason), AppliesTo: to}}, jsii.Bool(true))
	}
	suppress("/Vpc/Resource", "AwsSolutions-VPC7",
		"A sandbox VPC that accepts no inbound traffic; flow logs would cost CloudWatch Logs ingestion for nothing to audit. Add them (Vpc.AddFlowLog) in a VPC that matters.")
	suppress("/InstanceRole/DefaultPolicy/Resource", "AwsSolutions-IAM5",
		"The ECS agent's permissions, which the CDK grants when the group joins the cluster (as in the AmazonEC2ContainerServiceforEC2Role managed policy): ecs:Submit* for task and container state changes, and ecs:DiscoverPollEndpoint, ecr:GetAuthorizationToken and the like, which support no resource-level permissions.",
		"Action::ecs:Submit*", "Resource::*")
	suppress("/Asg/ASG", "AwsSolutions-AS3",
		"A sandbox group: scaling events are in the group's activity history and each drain in the drainer's logs; there is nobody to notify.")
}
