package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/infra/drainer"
	"github.com/ecs-drainer/ecs-drainer/infra/rules"
)

// app is one synthesis of the app with some context, checked by cdk-nag's
// AwsSolutions pack as in the tests of the construct.
type app struct {
	stack    awscdk.Stack
	tpl      assertions.Template
	json     map[string]any
	files    []string // the cloud assembly's template files
	findings []string
}

// Each mode is synthesized once (a synth builds the function: seconds) and
// shared by the tests.
var (
	exampleOnce, existingOnce sync.Once
	example, existing         app
)

func synthApp(t *testing.T, context map[string]any, stackName string) app {
	t.Helper()
	a := awscdk.NewApp(&awscdk.AppProps{Context: &context})
	if err := addStacks(a); err != nil {
		t.Fatalf("addStacks(%v): %v", context, err)
	}
	awscdk.Aspects_Of(a).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	stack, ok := a.Node().TryFindChild(jsii.String(stackName)).(awscdk.Stack)
	if !ok {
		t.Fatalf("context %v: no stack %s", context, stackName)
	}
	out := app{stack: stack, tpl: assertions.Template_FromStack(stack, nil)}
	b, err := json.Marshal(out.tpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out.json); err != nil {
		t.Fatal(err)
	}
	dir := *a.Synth(nil).Directory()
	out.files, _ = filepath.Glob(filepath.Join(dir, "*.template.json"))
	for i, f := range out.files {
		out.files[i] = filepath.Base(f)
	}
	ann := assertions.Annotations_FromStack(stack)
	nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	for _, m := range append(*ann.FindError(jsii.String("*"), nag), *ann.FindWarning(jsii.String("*"), nag)...) {
		//lint:ignore SA1019 FindError and FindWarning return only this type in awscdk's Go API
		out.findings = append(out.findings, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
	}
	return out
}

func exampleApp(t *testing.T) app {
	skipSynthIfShort(t)
	exampleOnce.Do(func() { example = synthApp(t, map[string]any{}, ExampleStackName) })
	return example
}

func existingApp(t *testing.T) app {
	skipSynthIfShort(t)
	existingOnce.Do(func() {
		existing = synthApp(t, map[string]any{"cluster": "prod_main", "asgs": "prod-a, prod-b"}, "EcsDrainer-prod-main")
	})
	return existing
}

// skipSynthIfShort skips a test that synthesizes: a synth builds the
// function and takes seconds.
func skipSynthIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("synthesizes the CDK app; skipped with -short")
	}
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

// lifecyclePatterns are the patterns of the template's lifecycle rules
// (the others are the ECS rules and the reconciler's schedule), by
// detail-type.
func lifecyclePatterns(t *testing.T, tpl map[string]any) map[string]any {
	t.Helper()
	patterns := map[string]any{}
	for _, r := range tpl["Resources"].(map[string]any) {
		if r := r.(map[string]any); r["Type"] == "AWS::Events::Rule" {
			if p, ok := r["Properties"].(map[string]any)["EventPattern"].(map[string]any); ok && fmt.Sprint(p["source"]) == "[aws.autoscaling]" {
				detailType := fmt.Sprint(p["detail-type"])
				if patterns[detailType] != nil {
					t.Fatalf("two lifecycle rules for %s", detailType)
				}
				patterns[detailType] = p
			}
		}
	}
	return patterns
}

// wantPatterns are the lifecycle rules' patterns for the groups: their
// terminate actions and the launch gate's.
func wantPatterns(t *testing.T, groups ...string) map[string]any {
	t.Helper()
	want := map[string]any{}
	for _, pattern := range [][]byte{
		rules.TerminateLifecycle(groups, []string{drainer.HookName}),
		rules.LaunchLifecycle(groups, []string{drainer.LaunchHookName}),
	} {
		var p map[string]any
		if err := json.Unmarshal(pattern, &p); err != nil {
			t.Fatal(err)
		}
		want[fmt.Sprint(p["detail-type"])] = p
	}
	return want
}

func TestWithoutContextTheAppSynthesizesTheExampleStack(t *testing.T) {
	a := exampleApp(t)
	if diff := cmp.Diff([]string{"EcsDrainerExample.template.json"}, a.files); diff != "" {
		t.Errorf("template files (-want +got):\n%s", diff)
	}
	t.Run("a VPC with public subnets only and no NAT gateway", func(t *testing.T) {
		count(t, a.tpl, "AWS::EC2::VPC", 1)
		count(t, a.tpl, "AWS::EC2::Subnet", 2)
		count(t, a.tpl, "AWS::EC2::NatGateway", 0)
	})
	t.Run("a cluster with Container Insights", func(t *testing.T) {
		count(t, a.tpl, "AWS::ECS::Cluster", 1)
		has(t, a.tpl, "AWS::ECS::Cluster", map[string]any{
			"ClusterName":     "ecs-drainer-example",
			"ClusterSettings": []any{map[string]any{"Name": "containerInsights", "Value": "enabled"}},
		})
	})
	t.Run("a group on the ECS-optimized AL2023 arm64 AMI from its SSM parameter", func(t *testing.T) {
		params := a.json["Parameters"].(map[string]any)
		var amiParam string
		for id, p := range params {
			if p.(map[string]any)["Default"] == "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id" {
				amiParam = id
			}
		}
		if amiParam == "" {
			t.Fatalf("no SSM parameter for the ECS-optimized AMI in %v", params)
		}
		has(t, a.tpl, "AWS::EC2::LaunchTemplate", map[string]any{"LaunchTemplateData": map[string]any{
			"ImageId":         map[string]any{"Ref": amiParam},
			"InstanceType":    "t4g.small",
			"MetadataOptions": map[string]any{"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
			"BlockDeviceMappings": []any{map[string]any{"DeviceName": "/dev/xvda",
				"Ebs": map[string]any{"Encrypted": true, "VolumeSize": 30, "VolumeType": "gp3"}}},
		}})
		has(t, a.tpl, "AWS::AutoScaling::AutoScalingGroup", map[string]any{
			"AutoScalingGroupName": "ecs-drainer-example",
			"MinSize":              "2",
			"MaxSize":              "4",
			// Managed termination protection needs it.
			"NewInstancesProtectedFromScaleIn": true,
		})
	})
	t.Run("a capacity provider with managed termination protection and without managed draining", func(t *testing.T) {
		// Managed draining would add ECS's own hook next to the drainer's.
		has(t, a.tpl, "AWS::ECS::CapacityProvider", map[string]any{"AutoScalingGroupProvider": map[string]any{
			"ManagedTerminationProtection": "ENABLED",
			"ManagedDraining":              "DISABLED",
			"ManagedScaling":               map[string]any{"Status": "ENABLED"},
		}})
		count(t, a.tpl, "AWS::ECS::ClusterCapacityProviderAssociations", 1)
	})
	t.Run("a sample service on the capacity provider", func(t *testing.T) {
		has(t, a.tpl, "AWS::ECS::Service", map[string]any{
			"DesiredCount": 4,
			"DeploymentConfiguration": map[string]any{
				"MinimumHealthyPercent": 100,
				"MaximumPercent":        200,
			},
			"CapacityProviderStrategy": []any{map[string]any{"Weight": 1, "CapacityProvider": assertions.Match_AnyValue()}},
		})
	})
	t.Run("the drainer and its launch gate on the group, with literal names", func(t *testing.T) {
		for _, hook := range []string{drainer.HookName, drainer.LaunchHookName} {
			has(t, a.tpl, "AWS::AutoScaling::LifecycleHook", map[string]any{
				"AutoScalingGroupName": "ecs-drainer-example",
				"LifecycleHookName":    hook,
				"NotificationMetadata": `{"cluster":"ecs-drainer-example"}`,
				"DefaultResult":        "CONTINUE",
			})
		}
		if diff := cmp.Diff(wantPatterns(t, "ecs-drainer-example"), lifecyclePatterns(t, a.json)); diff != "" {
			t.Errorf("lifecycle rules' EventPatterns (-want +got):\n%s", diff)
		}
		has(t, a.tpl, "AWS::Lambda::Function", map[string]any{"Runtime": "provided.al2023", "RecursiveLoop": "Allow"})
	})
	t.Run("the drainer comes after the group and goes before it", func(t *testing.T) {
		asg, hooks := "", map[string]map[string]any{}
		for id, r := range a.json["Resources"].(map[string]any) {
			switch r := r.(map[string]any); r["Type"] {
			case "AWS::AutoScaling::AutoScalingGroup":
				asg = id
			case "AWS::AutoScaling::LifecycleHook":
				hooks[id] = r
			}
		}
		if len(hooks) != 2 {
			t.Errorf("%d hooks, want the terminate and the launch hook", len(hooks))
		}
		for id, hook := range hooks {
			deps, _ := hook["DependsOn"].([]any)
			if !containsString(deps, asg) {
				t.Errorf("hook %s DependsOn = %v, want it to include the group %s", id, deps, asg)
			}
		}
	})
	t.Run("cdk-nag finds nothing unsuppressed", func(t *testing.T) {
		for _, f := range a.findings {
			t.Error(f)
		}
	})
	t.Run("it outputs the function's log group", func(t *testing.T) { outputsLogGroup(t, a) })
	t.Run("it outputs the stuck alarm and the dashboard", func(t *testing.T) { outputsAlarmsAndDashboard(t, a, 1) })
}

// outputsAlarmsAndDashboard checks the DrainerStuckAlarms output (the
// groups' stuck alarms' names, comma-separated, for an instance refresh's
// AlarmSpecification) and the DrainerDashboard output.
func outputsAlarmsAndDashboard(t *testing.T, a app, groups int) {
	t.Helper()
	var alarms []string
	var dashboard string
	for id, r := range a.json["Resources"].(map[string]any) {
		switch typ := r.(map[string]any)["Type"]; {
		case typ == "AWS::CloudWatch::Alarm" && strings.HasPrefix(id, "DrainerStuckAlarm"):
			alarms = append(alarms, id)
		case typ == "AWS::CloudWatch::Dashboard":
			dashboard = id
		}
	}
	outputs, _ := a.json["Outputs"].(map[string]any)
	got, _ := outputs["DrainerStuckAlarms"].(map[string]any)
	value, _ := got["Value"].(map[string]any)
	join, _ := value["Fn::Join"].([]any)
	var refs []string
	if len(join) == 2 && join[0] == "," {
		for _, r := range join[1].([]any) {
			ref, _ := r.(map[string]any)["Ref"].(string)
			refs = append(refs, ref)
		}
	} else if ref, ok := value["Ref"].(string); ok {
		refs = []string{ref} // the CDK folds a join of one
	}
	slices.Sort(alarms)
	slices.Sort(refs)
	if len(alarms) != groups || !slices.Equal(alarms, refs) {
		t.Errorf("output DrainerStuckAlarms = %v, want the comma-joined Refs of the %d stuck alarms %v", got, groups, alarms)
	}
	out, _ := outputs["DrainerDashboard"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"Ref": dashboard}, out["Value"]); dashboard == "" || diff != "" {
		t.Errorf("output DrainerDashboard = %v, want the Ref of the dashboard %q", out, dashboard)
	}
}

// outputsLogGroup checks the DrainerLogGroup output the README's commands read.
func outputsLogGroup(t *testing.T, a app) {
	t.Helper()
	var logGroup string
	for id, r := range a.json["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == "AWS::Logs::LogGroup" && strings.HasPrefix(id, "DrainerLogGroup") {
			logGroup = id
		}
	}
	out, _ := a.json["Outputs"].(map[string]any)["DrainerLogGroup"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"Ref": logGroup}, out["Value"]); logGroup == "" || diff != "" {
		t.Errorf("output DrainerLogGroup = %v, want the Ref of the drainer's log group %q", out, logGroup)
	}
}

func containsString(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestWithContextTheAppDeploysTheDrainerForAnExistingCluster(t *testing.T) {
	a := existingApp(t)
	if diff := cmp.Diff([]string{"EcsDrainer-prod-main.template.json"}, a.files); diff != "" {
		t.Errorf("template files (-want +got):\n%s", diff)
	}
	t.Run("it creates nothing but the drainer", func(t *testing.T) {
		for _, typ := range []string{"AWS::EC2::VPC", "AWS::ECS::Cluster", "AWS::AutoScaling::AutoScalingGroup", "AWS::ECS::CapacityProvider"} {
			count(t, a.tpl, typ, 0)
		}
		var types []string
		for _, r := range a.json["Resources"].(map[string]any) {
			types = append(types, r.(map[string]any)["Type"].(string))
		}
		// The drainer's 31: role and policy, log group and 2 metric
		// filters, function, 2 event source mappings, async invoke config,
		// 3 queues (poll, event, dead-letter) and their 3 policies, the 2
		// lifecycle rules, the 4 ECS rules, the schedule rule and its
		// invoke permission, 5 alarms, a stuck alarm per group (2), the
		// dashboard.
		if len(types) != 35 {
			t.Errorf("%d resources (%v), want 35: 2 terminate and 2 launch hooks and the drainer's 31", len(types), types)
		}
	})
	t.Run("each named group gets a terminate and a launch hook naming the cluster", func(t *testing.T) {
		count(t, a.tpl, "AWS::AutoScaling::LifecycleHook", 4)
		for _, g := range []string{"prod-a", "prod-b"} {
			for _, hook := range []string{drainer.HookName, drainer.LaunchHookName} {
				has(t, a.tpl, "AWS::AutoScaling::LifecycleHook", map[string]any{
					"AutoScalingGroupName": g,
					"LifecycleHookName":    hook,
					"NotificationMetadata": `{"cluster":"prod_main"}`,
				})
			}
		}
	})
	t.Run("the lifecycle rules match the named groups", func(t *testing.T) {
		if diff := cmp.Diff(wantPatterns(t, "prod-a", "prod-b"), lifecyclePatterns(t, a.json)); diff != "" {
			t.Errorf("lifecycle rules' EventPatterns (-want +got):\n%s", diff)
		}
	})
	t.Run("the function knows the cluster and groups", func(t *testing.T) {
		has(t, a.tpl, "AWS::Lambda::Function", map[string]any{"Environment": map[string]any{"Variables": map[string]any{
			"DRAINER_CLUSTER": "prod_main",
			"DRAINER_ASGS":    "prod-a,prod-b",
		}}})
	})
	t.Run("the reconciler sweeps every minute", func(t *testing.T) {
		has(t, a.tpl, "AWS::Events::Rule", map[string]any{"ScheduleExpression": "rate(1 minute)"})
	})
	t.Run("the cluster's ARN is built in the stack's account and region, not looked up", func(t *testing.T) {
		has(t, a.tpl, "AWS::IAM::Policy", map[string]any{"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Action": "ecs:ListContainerInstances", "Effect": "Allow", "Resource": map[string]any{"Fn::Join": []any{"", []any{
				"arn:", map[string]any{"Ref": "AWS::Partition"}, ":ecs:", map[string]any{"Ref": "AWS::Region"}, ":",
				map[string]any{"Ref": "AWS::AccountId"}, ":cluster/prod_main"}}}},
		})}})
	})
	t.Run("cdk-nag finds nothing unsuppressed", func(t *testing.T) {
		for _, f := range a.findings {
			t.Error(f)
		}
	})
	t.Run("it outputs the function's log group", func(t *testing.T) { outputsLogGroup(t, a) })
	t.Run("it outputs the stuck alarms and the dashboard", func(t *testing.T) { outputsAlarmsAndDashboard(t, a, 2) })
}

func TestContextMustNameBothClusterAndGroups(t *testing.T) {
	for name, context := range map[string]map[string]any{
		"a cluster without groups": {"cluster": "prod"},
		"groups without a cluster": {"asgs": "a,b"},
		"an empty group list":      {"cluster": "prod", "asgs": " , "},
	} {
		t.Run(name, func(t *testing.T) {
			err := addStacks(awscdk.NewApp(&awscdk.AppProps{Context: &context}))
			if err == nil || !strings.Contains(err.Error(), "give both -c cluster=NAME and -c asgs=ASG1,ASG2") {
				t.Errorf("addStacks(%v) = %v, want the error naming both flags", context, err)
			}
		})
	}
}

func TestStackNameIsPerClusterAndValid(t *testing.T) {
	for cluster, want := range map[string]string{
		"prod":        "EcsDrainer-prod",
		"prod_main-2": "EcsDrainer-prod-main-2",
	} {
		if got := StackName(cluster); got != want {
			t.Errorf("StackName(%q) = %q, want %q", cluster, got, want)
		}
	}
}

func TestMain(m *testing.M) {
	// The synth's own node process prints a banner on old node versions.
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	os.Exit(m.Run())
}
