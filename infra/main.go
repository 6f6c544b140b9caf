// Command infra is the CDK app of ecs-drainer (cdk.json: "go run ./infra").
//
// With context, it deploys the drainer for an existing cluster and its Auto
// Scaling groups, imported by name:
//
//	cdk deploy -c cluster=NAME -c asgs=ASG1,ASG2      # stack EcsDrainer-NAME
//
// Without context, it synthesizes EcsDrainerExample: a complete sandbox (VPC,
// cluster, Auto Scaling group and capacity provider, a sample service) with
// the drainer attached, to try it in an account of one's own.
//
// Nothing is looked up in an account: the synth works offline.
package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if err := addStacks(app); err != nil {
		fmt.Fprintln(os.Stderr, "ecs-drainer:", err)
		os.Exit(2)
	}
	app.Synth(nil)
}

// ExampleStackName is the stack synthesized without context.
const ExampleStackName = "EcsDrainerExample"

// addStacks adds the stack the context asks for.
func addStacks(app awscdk.App) error {
	cluster := contextString(app, "cluster")
	asgs := contextList(app, "asgs")
	switch {
	case cluster == "" && len(asgs) == 0:
		NewExampleStack(app, ExampleStackName, &ExampleStackProps{StackProps: awscdk.StackProps{
			Description: jsii.String("ecs-drainer example: a VPC, an ECS cluster on an Auto Scaling group, a sample service, and the drainer"),
		}})
		return nil
	case cluster == "" || len(asgs) == 0:
		return fmt.Errorf("give both -c cluster=NAME and -c asgs=ASG1,ASG2 to deploy into an existing cluster, or neither for the example stack")
	}
	id := StackName(cluster)
	NewDrainerStack(app, id, &DrainerStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String(fmt.Sprintf("ecs-drainer for ECS cluster %s (Auto Scaling groups %s)", cluster, strings.Join(asgs, ", "))),
		},
		Cluster: cluster,
		ASGs:    asgs,
	})
	return nil
}

// notInStackName is what ECS cluster names allow and stack names do not.
var notInStackName = regexp.MustCompile(`[^A-Za-z0-9-]`)

// StackName is the name of the drainer's stack for an existing cluster: one
// stack per cluster, so draining a second cluster does not replace the first.
func StackName(cluster string) string {
	return "EcsDrainer-" + notInStackName.ReplaceAllString(cluster, "-")
}

func contextString(app awscdk.App, key string) string {
	v, _ := app.Node().TryGetContext(jsii.String(key)).(string)
	return strings.TrimSpace(v)
}

// contextList reads a comma-separated context value.
func contextList(app awscdk.App, key string) []string {
	var list []string
	for _, s := range strings.Split(contextString(app, key), ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	return list
}
